"""Auto-grading for the course: instant ``check()`` feedback, a question registry, a grader.

In a notebook::

    from course_utils.grading import check
    check("lecun_normal", lecun_normal)     # prints a verdict per check, never raises

From a shell (instructors)::

    python -m course_utils.grade submissions/ --json grades.json --csv gradebook.csv --jobs 2
    python -m course_utils.grading.build exercises solutions exercises   # make exercises
    python -m course_utils.grading.build execute notebooks solutions     # make notebooks

How to add a graded question
----------------------------
1. In ``solutions/NN_topic.ipynb`` (the only file you edit) write the graded function in a code
   cell, its body between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, with a hint as the
   first line of the region::

       def he_normal(shape, rng, *, layout="in_out", dtype=np.float32):
           ### BEGIN SOLUTION
           # HINT: Var(w) = 2 / fan_in; draw with rng.normal and cast to dtype.
           fan_in, _ = fan_in_and_fan_out(shape, layout=layout)
           return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(dtype)
           ### END SOLUTION

   Follow it with a cell ``check("he_normal", he_normal)``. Set ``metadata.course.exercise`` to
   ``"NN_topic"`` in the notebook metadata (``build`` adds it if missing).
   Reflection questions: a markdown cell holding only the model answer between
   ``<!-- ### BEGIN SOLUTION -->`` and ``<!-- ### END SOLUTION -->`` lines; the student version
   shows "_Your answer here._".
2. Declare the question in ``course_utils/grading/questions/exNN_topic.py`` (one module per
   exercise; every module in that package is imported automatically)::

       from course_utils.grading.checks import Call, deterministic, random_initializer, value
       from course_utils.grading.registry import question

       question("he_normal", exercise="05_he", points=3,
                check=random_initializer(lambda fan_in, fan_out: 2 / fan_in,
                                         family="normal", variance_label="2/fan_in"),
                forbidden=("course_utils.initializers.he_normal",
                           "course_utils.initializers.variance_scaling"))

   Builders: ``random_initializer(variance, family=, variance_label=, layouts=, dtype=,
   kwargs=, z=)``; ``deterministic(reference, visible=[Call(args, kwargs, group=...)],
   hidden=lambda rng: [...], rtol=, atol=, hints={group: hint})``; ``value(accept)`` for a graded
   value. Anything else: subclass ``checks.QuestionCheck`` (``calls(rng)`` returns the visible
   inputs for ``rng=None`` and fresh ones otherwise; ``verdict(calls, outcomes, name)`` returns
   ``CheckResult`` s; ``outcomes`` hold plain decoded values only).
3. Run ``make notebooks exercises`` and commit the solution and the generated exercise;
   ``tests/test_exercises_sync.py`` fails when they disagree, and the grading tests grade every
   solution to full marks and every blank exercise to 0.

See ``docs/grading.md`` for what the grader guarantees.
"""

from course_utils.grading.checks import (
    Call,
    CheckResult,
    QuestionCheck,
    QuestionResult,
    Rng,
    deterministic,
    random_initializer,
    value,
)
from course_utils.grading.feedback import check, run_checks
from course_utils.grading.registry import (
    Question,
    all_questions,
    exercises,
    get_question,
    question,
    questions_for,
)

__all__ = [
    "Call",
    "CheckResult",
    "Question",
    "QuestionCheck",
    "QuestionResult",
    "Rng",
    "all_questions",
    "check",
    "deterministic",
    "exercises",
    "get_question",
    "question",
    "questions_for",
    "random_initializer",
    "run_checks",
    "value",
]
