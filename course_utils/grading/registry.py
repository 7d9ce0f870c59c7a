"""The question registry: every graded question of every exercise, declared in Python.

Questions live in ``course_utils/grading/questions/exNN_topic.py`` modules, one per exercise;
each module calls :func:`question` at import time. The grader reads points and checks from here,
never from the submitted notebook, so a student cannot change them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from course_utils.grading.checks import QuestionCheck, random_initializer
from course_utils.grading.predictions import gated

_REGISTRY: dict[str, Question] = {}
_LOAD_ERRORS: dict[str, str] = {}
_LOADED = False


@dataclass(frozen=True)
class Question:
    """One graded question.

    Attributes
    ----------
    id : str
        Unique across the course, used in ``check(id, obj)`` and in the reports.
    exercise : str
        The exercise notebook's stem, e.g. ``"03_lecun"`` (``metadata.course.exercise``).
    name : str
        The name the notebook must define (function or value) that is graded.
    points : float
        Maximum points; checks give partial credit.
    check : QuestionCheck
        Built with ``random_initializer``, ``deterministic``, ``value`` or a custom subclass.
    forbidden : tuple of str
        Fully qualified library objects (``"course_utils.initializers.lecun_normal"``) that the
        answer may not be, wrap or call: handing in the library's reference earns 0.
    title : str
        One line shown in reports.
    """

    id: str
    exercise: str
    name: str
    points: float
    check: QuestionCheck
    forbidden: tuple[str, ...] = ()
    title: str = ""


def question(
    id: str,
    *,
    exercise: str,
    points: float,
    check: QuestionCheck,
    name: str | None = None,
    forbidden: tuple[str, ...] | list[str] = (),
    title: str = "",
) -> Question:
    """Declare and register a graded question (call it at import time of a questions module).

    ``name`` defaults to ``id``. Raises ValueError for a duplicate id or non-positive points.
    """
    if not isinstance(check, QuestionCheck):
        raise TypeError(f"check must be a QuestionCheck, got {type(check).__name__}")
    if not points > 0:
        raise ValueError(f"points must be > 0, got {points!r}")
    q = Question(id, exercise, name or id, float(points), check, tuple(forbidden), title)
    if id in _REGISTRY and _REGISTRY[id] != q:
        raise ValueError(f"question id {id!r} is already registered (ids are unique course-wide)")
    _REGISTRY[id] = q
    return q


#: Library objects that would answer any initializer question for the student.
_INITIALIZER_SHORTCUTS = (
    "course_utils.initializers.variance_scaling",
    "course_utils.initializers.INITIALIZERS",
)


def initializer_question(
    id: str,
    *,
    exercise: str,
    points: float,
    title: str,
    variance: Callable[[int, int], float],
    variance_label: str,
    family: str,
    also_forbidden: tuple[str, ...] = (),
) -> Question:
    """Declare a question on a random initializer the library also defines, under the name ``id``.

    The check is :func:`~course_utils.grading.checks.random_initializer` with ``variance``,
    ``family`` and ``variance_label``, gated on its variance check (a constant earns 0); handing in the library's own ``id``, its
    ``variance_scaling`` or ``INITIALIZERS``, or anything in ``also_forbidden`` (e.g. the
    ``torch.nn.init`` twin) earns 0.
    """
    return question(
        id,
        exercise=exercise,
        points=points,
        title=title,
        check=gated(
            random_initializer(variance, family=family, variance_label=variance_label),
            main="variance",
        ),
        forbidden=(f"course_utils.initializers.{id}", *_INITIALIZER_SHORTCUTS, *also_forbidden),
    )


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    from course_utils.grading import questions

    for info in sorted(pkgutil.iter_modules(questions.__path__), key=lambda m: m.name):
        try:
            importlib.import_module(f"{questions.__name__}.{info.name}")
        except Exception as err:  # one broken module must not take every exercise down
            _LOAD_ERRORS[info.name] = f"{type(err).__name__}: {err}"


def load_errors() -> dict[str, str]:
    """Question modules that failed to import, with the error (a test keeps this empty)."""
    _load()
    return dict(_LOAD_ERRORS)


def get_question(question_id: str) -> Question:
    """The registered question ``question_id``; KeyError listing the known ids otherwise."""
    _load()
    try:
        return _REGISTRY[question_id]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        broken = (
            f" (modules that failed to load: {', '.join(_LOAD_ERRORS)})" if _LOAD_ERRORS else ""
        )
        raise KeyError(f"unknown question {question_id!r}; known: {known}{broken}") from None


def questions_for(exercise: str) -> list[Question]:
    """The questions of one exercise, in declaration order."""
    _load()
    return [q for q in _REGISTRY.values() if q.exercise == exercise]


def exercises() -> list[str]:
    """Every exercise that has at least one registered question, sorted."""
    _load()
    return sorted({q.exercise for q in _REGISTRY.values()})


def all_questions() -> list[Question]:
    """Every registered question."""
    _load()
    return list(_REGISTRY.values())
