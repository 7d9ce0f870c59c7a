"""One module per exercise (``exNN_topic.py``); each declares its questions with
:func:`course_utils.grading.registry.question`. Every module here is imported automatically."""
