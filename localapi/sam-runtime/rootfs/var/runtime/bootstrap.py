"""/var/runtime/bootstrap.py of the stand-in python3.13 image (localapi/sam-runtime/README.md).

Sets the module search path as Lambda's python runtime does, then hands over to awslambdaric,
which loads the handler (_HANDLER, e.g. app.lambda_handler) and serves the runtime API.

Search order, first match wins: the function's code (LAMBDA_TASK_ROOT, /var/task), the layers
(/opt/python/lib/python3.13/site-packages, then /opt/python), this folder (/var/runtime: the
runtime interface client and boto3/botocore), then the interpreter's own paths. A PYTHONPATH set
on the function replaces the two layer entries, as on Lambda. .pth files in the task root and the
layer folders are honoured (site.addsitedir). Child processes inherit PYTHONPATH=/var/runtime.
"""

import os
import site
import sys

# Found in this script's folder, /var/runtime (sys.path[0]), before the paths below are added.
from awslambdaric import __main__ as awslambdaric_main  # type: ignore[import-not-found]

TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
RUNTIME_DIR = os.environ.get("LAMBDA_RUNTIME_DIR", "/var/runtime")
LAYER_DIRS = (f"/opt/python/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages", "/opt/python")


def main() -> None:
    own_pythonpath = "PYTHONPATH" in os.environ
    # sys.path[0] is this script's folder, /var/runtime; everything below goes in front of it.
    front = [TASK_ROOT] + ([] if own_pythonpath else list(LAYER_DIRS))
    sys.path[:0] = [p for p in front if p not in sys.path]
    for directory in [TASK_ROOT] + ([] if own_pythonpath else list(LAYER_DIRS)):
        site.addsitedir(directory)
    if not own_pythonpath:
        os.environ["PYTHONPATH"] = RUNTIME_DIR

    handler = os.environ.get("_HANDLER") or os.environ.get("AWS_LAMBDA_FUNCTION_HANDLER")
    if not handler:
        sys.exit("bootstrap: no handler: _HANDLER (or AWS_LAMBDA_FUNCTION_HANDLER) is not set")

    awslambdaric_main.main([TASK_ROOT, handler])


if __name__ == "__main__":
    main()
