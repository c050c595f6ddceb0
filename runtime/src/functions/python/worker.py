# Eddy's Python function worker: one process per function and subtask (as Flink runs its
# Python functions in a Python process beside the task). It reads JSON lines on stdin and
# answers one JSON line per request on the stdout it was started with; what the user's
# code prints goes to stderr, which Eddy logs.
#
# First line in: the function {"name", "target" | "body" + "params", "files"}.
# Answer: {"arity": [min, max or null], "result_type": "BIGINT" or null,
#          "deterministic": bool} or {"error": "..."}.
# Then per batch in: {"n": rows, "result": tag, "args": [{"t": tag, "v": [text or null]}]}.
# Answer: {"v": [text or null]} or {"error": "...", "row": i, "kind": "raised" | "result"}.
# Values travel as text both ways (Arrow's text of the argument, the result as the SQL
# type's input text); bytes as base64.
import base64
import datetime
import decimal
import importlib
import inspect
import json
import os
import sys
import textwrap
import traceback
import types
import typing

# The protocol keeps its own copies of stdin and stdout: the user's code reads an empty
# stdin and prints to stderr.
_protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
_requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
os.dup2(2, 1)
_devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(_devnull, 0)
sys.stdout = sys.stderr
sys.stdin = open(os.devnull, "r")


def send(message):
    _protocol.write(json.dumps(message, allow_nan=False))
    _protocol.write("\n")
    _protocol.flush()


def _timestamp(text):
    # Python 3.11 reads "Z" and fractions of any length; older ones need help.
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.datetime.fromisoformat(text)


ARGUMENT = {
    "bool": lambda t: t == "true",
    "int": int,
    "float": float,
    "str": lambda t: t,
    "bytes": base64.b64decode,
    "decimal": decimal.Decimal,
    "date": datetime.date.fromisoformat,
    "timestamp": _timestamp,
}


def _float_text(value):
    value = float(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _int_text(value):
    if isinstance(value, (bool, int)):
        return str(int(value))
    return str(value)


def _bytes_text(value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError("%s is not bytes" % type(value).__name__)
    return base64.b64encode(bytes(value)).decode("ascii")


def _str_text(value):
    text = str(value)
    # A lone surrogate is no text UTF-8 can carry.
    text.encode("utf-8")
    return text


def _decimal_text(value):
    # Plain digits: Arrow reads no exponent (str(Decimal("0E-18")) is "0E-18").
    if isinstance(value, float):
        value = repr(value)
    return format(decimal.Decimal(value), "f")


def _time_text(value):
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


# As PL/Python returns values: a BOOLEAN is the value's truth, other types read the
# value's text (str()) as the SQL type's input.
RESULT = {
    "bool": lambda v: "true" if v else "false",
    "int": _int_text,
    "float": _float_text,
    "str": _str_text,
    "bytes": _bytes_text,
    "decimal": _decimal_text,
    "date": _time_text,
    "timestamp": _time_text,
}

ANNOTATIONS = {
    int: "BIGINT",
    float: "DOUBLE",
    str: "STRING",
    bool: "BOOLEAN",
    bytes: "BYTES",
    decimal.Decimal: "DECIMAL(38, 18)",
    datetime.date: "DATE",
    datetime.datetime: "TIMESTAMP(6)",
}
ANNOTATION_NAMES = {t.__name__: name for t, name in ANNOTATIONS.items()}
ANNOTATION_NAMES.update({"Decimal": "DECIMAL(38, 18)", "date": "DATE"})

# PyFlink's DataTypes, by class name, for functions made with pyflink's @udf.
PYFLINK_TYPES = {
    "BooleanType": "BOOLEAN",
    "TinyIntType": "TINYINT",
    "SmallIntType": "SMALLINT",
    "IntType": "INT",
    "BigIntType": "BIGINT",
    "FloatType": "FLOAT",
    "DoubleType": "DOUBLE",
    "CharType": "STRING",
    "VarCharType": "STRING",
    "BinaryType": "BYTES",
    "VarBinaryType": "BYTES",
    "DateType": "DATE",
}


def _pyflink_type(data_type):
    # Newer pyflink takes the type's name as text too.
    if isinstance(data_type, str):
        return data_type
    kind = type(data_type).__name__
    if kind in PYFLINK_TYPES:
        return PYFLINK_TYPES[kind]
    if kind == "DecimalType":
        return "DECIMAL(%d, %d)" % (data_type.precision, data_type.scale)
    if kind == "TimestampType":
        return "TIMESTAMP(%d)" % data_type.precision
    if kind == "LocalZonedTimestampType":
        return "TIMESTAMP_LTZ(%d)" % data_type.precision
    raise ValueError("its result type %s is not one Eddy's Python functions return" % kind)


def _without_none(annotation):
    """X for Optional[X], Union[X, None] and X | None (a SQL value may be NULL anyway)."""
    if isinstance(annotation, str):
        text = annotation.replace(" ", "")
        if text.startswith("Optional[") and text.endswith("]"):
            return text[len("Optional["):-1]
        parts = [p for p in text.split("|") if p != "None"]
        return parts[0] if len(parts) == 1 else annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        parts = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(parts) == 1:
            return parts[0]
    return annotation


def _annotation_type(annotation):
    if annotation is inspect.Signature.empty:
        return None
    annotation = _without_none(annotation)
    if isinstance(annotation, str):
        found = ANNOTATION_NAMES.get(annotation.rsplit(".", 1)[-1])
    else:
        found = ANNOTATIONS.get(annotation)
    if found is None:
        raise ValueError(
            "its return annotation %r names no SQL type (int, float, str, bool, bytes, "
            "Decimal, date, datetime)" % (annotation,)
        )
    return found


class FunctionContext:
    """What pyflink's ScalarFunction.open receives, as far as Eddy can give it."""

    def get_job_parameter(self, key, default_value):
        return default_value

    def get_metric_group(self):
        raise NotImplementedError("Eddy's Python functions have no metric group")


def load(spec):
    for path in spec.get("files", []):
        folder = os.path.dirname(path) if path.endswith(".py") else path
        if folder not in sys.path:
            sys.path.insert(0, folder)
    result_type = None
    deterministic = True
    if spec.get("body") is not None:
        # As written between $$ and $$: indented or not, with blank lines around.
        lines = textwrap.dedent(spec["body"].strip("\n")).split("\n") or ["pass"]
        source = "def __eddy_function(%s):\n%s\n" % (
            ", ".join(spec["params"]),
            "\n".join("    " + line for line in lines),
        )
        scope = {}
        exec(compile(source, "<function %s>" % spec["name"], "exec"), scope)
        function = scope["__eddy_function"]
    else:
        module_name, _, attribute = spec["target"].rpartition(".")
        if not module_name:
            raise ValueError("AS '%s' names no module: write AS 'module.function'" % spec["target"])
        found = getattr(importlib.import_module(module_name), attribute)
        # pyflink's udf() wraps the function with its result type.
        inner = getattr(found, "_func", None)
        if getattr(found, "_func_type", "general") == "pandas":
            raise ValueError("'%s' is a pandas function; Eddy calls Python functions a row at a time"
                             % spec["target"])
        if inner is not None and hasattr(found, "_result_type"):
            if found._result_type is not None:
                result_type = _pyflink_type(found._result_type)
            deterministic = bool(getattr(found, "_deterministic", True))
            found = inner
        # A pyflink ScalarFunction instance: its eval method.
        if not inspect.isroutine(found) and hasattr(found, "eval"):
            if hasattr(found, "open"):
                found.open(FunctionContext())
            found = found.eval
        if not callable(found):
            raise ValueError("'%s' is not a function" % spec["target"])
        function = found
    signature = inspect.signature(function)
    low, high = 0, 0
    for parameter in signature.parameters.values():
        if parameter.kind == parameter.VAR_POSITIONAL:
            high = None
        elif parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            if parameter.default is parameter.empty:
                low += 1
            if high is not None:
                high += 1
    if result_type is None:
        result_type = _annotation_type(signature.return_annotation)
    return function, {"arity": [low, high], "result_type": result_type, "deterministic": deterministic}


def described_error(error):
    return "%s: %s" % (type(error).__name__, error)


def read_arguments(request):
    """The request's columns as Python values; an error answer for a value Python's
    types cannot hold (a year outside 1..9999)."""
    columns = []
    for argument in request["args"]:
        read = ARGUMENT[argument["t"]]
        column = []
        for row, v in enumerate(argument["v"]):
            try:
                column.append(None if v is None else read(v))
            except Exception as error:
                return None, {"error": "argument %r: %s" % (v, described_error(error)),
                              "row": row, "kind": "argument"}
        columns.append(column)
    return columns, None


def serve(function):
    for line in _requests:
        request = json.loads(line)
        result = RESULT[request["result"]]
        columns, failed = read_arguments(request)
        if failed is not None:
            send(failed)
            continue
        values = []
        for row in range(request["n"]):
            try:
                value = function(*[column[row] for column in columns])
            except Exception as error:
                traceback.print_exc()
                send({"error": described_error(error), "row": row, "kind": "raised"})
                break
            try:
                values.append(None if value is None else result(value))
            except Exception as error:
                send({"error": "its result %r: %s" % (value, described_error(error)),
                      "row": row, "kind": "result"})
                break
        else:
            send({"v": values})


def main():
    spec = json.loads(_requests.readline())
    try:
        function, description = load(spec)
    except Exception as error:
        traceback.print_exc()
        send({"error": described_error(error)})
        return
    send(description)
    serve(function)


main()
