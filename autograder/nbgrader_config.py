# nbgrader configuration for MLOps in Practice.
# `course release` and `course grade` load this file, then set the course directory themselves;
# instructors can also point plain nbgrader (formgrader) at it.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from course.grading.preprocessors import TrimTracebacks

c = get_config()  # noqa: F821  (provided by traitlets when the file is loaded)

# Exercises stay in the released notebooks as `raise NotImplementedError()` stubs; the checks
# report them as "not attempted".
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True

# Time limit per cell; a module's slowest cell (a sweep, a server start) stays well below it.
c.ExecutePreprocessor.timeout = 180
c.ExecutePreprocessor.interrupt_on_timeout = True
c.Execute.execute_retries = 0

# Feedback never shows hidden tests: their source is removed and failures show one line.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests, TrimTracebacks]

# Restore locked cells (checks, setup) that a student edited or deleted.
c.OverwriteCells.add_missing_cells = True
