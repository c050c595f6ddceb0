# Python functions for sqllogictest/test_files/functions/python_udf.slt.
import datetime
import decimal


def add_one(x: int) -> int:
    return None if x is None else x + 1


def initials(name: str, sep: str = ".") -> str:
    if name is None:
        return None
    return sep.join(part[0] for part in name.split()) + sep


def raise_pct(salary: float, pct: int) -> float:
    return salary * (1 + pct / 100.0)


def is_senior(age: int) -> bool:
    return age is not None and age >= 40


def untyped(x):
    return x


def invert(x: int) -> int:
    return 100 // x


def next_day(d: datetime.date) -> datetime.date:
    return d + datetime.timedelta(days=1)


def half(d: decimal.Decimal) -> decimal.Decimal:
    return d / 2


def not_a_number(x: int) -> int:
    return "many"


class FakeBigIntType:
    pass


class FakeUdfWrapper:
    # The shape of what pyflink's udf(f, result_type=DataTypes.BIGINT()) returns.
    def __init__(self, f):
        self._func = f
        self._result_type = type("BigIntType", (FakeBigIntType,), {})()
        self._deterministic = True

    def __call__(self, *args):
        return self._func(*args)


def _square(x):
    return x * x


square = FakeUdfWrapper(_square)


def maybe_double(x: "typing.Optional[int]") -> "Optional[int]":
    return None if x is None else 2 * x


def maybe_half(x: float) -> float | None:
    return None if x is None else x / 2
