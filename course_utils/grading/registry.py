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

DEFAULT_ALLOWED_IMPORTS = ("numpy", "math")

_REGISTRY: dict[str, Question] = {}
_EXERCISES: dict[str, ExerciseInfo] = {}
_LOAD_ERRORS: dict[str, str] = {}
#: question id -> the questions module that registered it
_ORIGIN: dict[str, str | None] = {}
_QUESTIONS_PACKAGE = "course_utils.grading.questions"
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
    since: str | None = None


@dataclass(frozen=True)
class ExerciseInfo:
    """What a questions module declares about its exercise, beside the questions.

    Attributes
    ----------
    version : str or None
        ``VERSION`` of the module: bumped whenever a question changes; the build writes it into
        the notebooks' ``metadata.course.version``.
    allowed_imports : tuple of str
        ``ALLOWED_IMPORTS``: what a graded answer may import (default numpy and math); named in
        the message when an answer fails on a missing module.
    changed : dict
        version -> ids of the questions added or changed in it: each question's ``since=`` and
        the module's ``CHANGED_IN_<version>`` tuples.
    """

    exercise: str
    version: str | None = None
    allowed_imports: tuple[str, ...] = DEFAULT_ALLOWED_IMPORTS
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def changed_since(self, version: str | None) -> list[str]:
        """Ids of the questions added or changed after ``version`` (every recorded change when
        ``version`` is None), in the order of the exercise's questions."""
        ids = {
            qid
            for v, qids in self.changed
            if version is None or version_key(v) > version_key(version)
            for qid in qids
        }
        return [q.id for q in questions_for(self.exercise) if q.id in ids]


def version_key(version: str | None) -> tuple:
    """Sort key of a version string: ``"10"`` after ``"9"``, ``"1.2"`` after ``"1.10"`` is
    false (numeric parts compare as numbers), None first."""
    if version is None:
        return ()
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in str(version).split("."))


def question(
    id: str,
    *,
    exercise: str,
    points: float,
    check: QuestionCheck,
    name: str | None = None,
    forbidden: tuple[str, ...] | list[str] = (),
    title: str = "",
    since: str | int | None = None,
) -> Question:
    """Declare and register a graded question (call it at import time of a questions module).

    ``name`` defaults to ``id``. ``since`` is the exercise version (the module's ``VERSION``) in
    which the question was added or last changed: grading an older copy of the notebook names it.
    Raises ValueError for a duplicate id or non-positive points.
    """
    if not isinstance(check, QuestionCheck):
        raise TypeError(f"check must be a QuestionCheck, got {type(check).__name__}")
    if not points > 0:
        raise ValueError(f"points must be > 0, got {points!r}")
    since = None if since is None else str(since)
    q = Question(id, exercise, name or id, float(points), check, tuple(forbidden), title, since)
    if id in _REGISTRY and _REGISTRY[id] != q:
        raise ValueError(f"question id {id!r} is already registered (ids are unique course-wide)")
    _REGISTRY[id] = q
    _ORIGIN[id] = _calling_questions_module()
    return q


def _calling_questions_module() -> str | None:
    """The questions module that is registering a question (the nearest caller frame whose module
    lives in ``course_utils.grading.questions``), so its VERSION and ALLOWED_IMPORTS are found
    whoever imported it first."""
    import sys

    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith(_QUESTIONS_PACKAGE + "."):
            return name
        frame = frame.f_back
    return None


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
            module = importlib.import_module(f"{questions.__name__}.{info.name}")
        except Exception as err:  # one broken module must not take every exercise down
            _LOAD_ERRORS[info.name] = f"{type(err).__name__}: {err}"
            continue
        # the questions this module registered, whether it was imported here or earlier
        # (a test or a notebook may import a questions module before the registry loads)
        mine = [q for q in _REGISTRY.values() if _ORIGIN.get(q.id) == module.__name__]
        for exercise in dict.fromkeys(q.exercise for q in mine):
            _EXERCISES[exercise] = _module_info(
                module, exercise, [q for q in mine if q.exercise == exercise]
            )


def _module_info(module: object, exercise: str, qs: list[Question]) -> ExerciseInfo:
    version = getattr(module, "VERSION", None)
    allowed = getattr(module, "ALLOWED_IMPORTS", None)
    if isinstance(allowed, str):
        allowed = tuple(a.strip() for a in allowed.split(",") if a.strip())
    changed: dict[str, list[str]] = {}
    for attr, ids in vars(module).items():
        if attr.startswith("CHANGED_IN_") and isinstance(ids, (tuple, list)):
            changed.setdefault(attr.removeprefix("CHANGED_IN_"), []).extend(map(str, ids))
    names = {q.name: q.id for q in qs}
    for v in changed:  # a CHANGED_IN_ tuple may list graded names as well as ids
        changed[v] = [names.get(x, x) for x in changed[v]]
    for q in qs:
        if q.since is not None and q.id not in changed.get(q.since, []):
            changed.setdefault(q.since, []).append(q.id)
    return ExerciseInfo(
        exercise,
        None if version is None else str(version),
        tuple(allowed) if allowed else DEFAULT_ALLOWED_IMPORTS,
        tuple(sorted((v, tuple(ids)) for v, ids in changed.items())),
    )


def exercise_info(exercise: str) -> ExerciseInfo:
    """The version, allowed imports and change history of ``exercise`` (defaults when its
    module declares none)."""
    _load()
    return _EXERCISES.get(exercise, ExerciseInfo(exercise))


def notebook_version(nb: object) -> str | None:
    """``metadata.course.version`` of a notebook (a dict or nbformat node), None if absent."""
    try:
        version = nb.get("metadata", {}).get("course", {}).get("version")  # type: ignore[union-attr]
    except AttributeError:
        return None
    return None if version is None else str(version)[:20]


def version_note(exercise: str, notebook_version: str | None) -> str | None:
    """A note for the report when a graded notebook is an older copy of ``exercise`` than the
    registry's (``notebook_version`` from its ``metadata.course.version``; None: a copy made
    before versions were recorded); None when it is current or the exercise has no version."""
    info = exercise_info(exercise)
    if info.version is None:
        return None
    if notebook_version is not None and version_key(notebook_version) >= version_key(info.version):
        return None
    since = info.changed_since(notebook_version)
    copy = (
        f"this copy is version {notebook_version}"
        if notebook_version is not None
        else "this copy has no version (it predates version numbers)"
    )
    what = (
        f"questions added or changed since: {', '.join(since)}"
        if since
        else "no question records a change since"
    )
    return (
        f"{copy} of exercise {exercise}, which is now version {info.version}; {what}. "
        "Graded as the questions are now, on what the notebook defines"
    )


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
