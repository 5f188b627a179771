"""Student code shared by the hostile batches: it keeps the kernel saying "pass" without the
work (a determined student's toolkit).
"""

# Student code that keeps the kernel saying "pass" without the work; it also turns the
# grader's reset cells into no-ops, as a determined student would.
DROP_HIDDEN = """
def _drop_hidden(lines):
    text = "".join(lines)
    if "_course_grader_reset" in text and "_course_grader_record" not in text:
        return ["pass\\n"]
    out, skip = [], False
    for ln in lines:
        if ln.startswith("### BEGIN HIDDEN TESTS"):
            skip = True
        if not skip:
            out.append(ln)
        if ln.startswith("### END HIDDEN TESTS"):
            skip = False
    return out
get_ipython().input_transformers_cleanup.append(_drop_hidden)
"""
PATCH_CHECK = "import course\ncourse.check = lambda *a, **k: print('ok')\n"
