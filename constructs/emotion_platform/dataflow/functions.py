"""The data flow expression functions with their documented signatures (name, arity, argument types).

Taken from Microsoft's mapping data flow expression reference ("Details and usage for all mapping
data flow functions", the alphabetical listing of ``name(<arg> : type, [<optional> : type], ...) =>
type``), written here in a compact notation of our own: ``[t]`` is optional, a trailing ``...``
repeats the last argument. Only facts are carried over: names, argument counts and types, result
types. Where the listing has an obvious typo (``associate``'s header, ``outputs``) the function is
left out rather than guessed.

Type words, as the docs use them: ``number`` (any numeric), ``integral`` (byte, short, integer,
long), ``datetime`` (date or timestamp), ``any``, ``array``, ``map``, ``binary`` and the concrete
types; ``function`` stands for the docs' unary/binary function arguments (an expression over
``#item``, ``#acc``...), which accept any expression.

The window transformation's sort clauses ``asc``/``desc`` are in the docs' sort functions:
``asc(<sort column> : any, [<nulls first> : boolean])``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SIGNATURES = """
abs(number) => number
acos(number) => double
add(any, any) => any
addDays(datetime, integral) => datetime
addMonths(datetime, integral, [string]) => datetime
and(boolean, boolean) => boolean
array([any], ...) => array
asc(any, [boolean]) => any
ascii(string) => integer
asin(number) => double
atan(number) => double
atan2(number, number) => double
avg(number) => number
avgIf(boolean, number) => number
between(any, any, any) => boolean
bitwiseAnd(integral, integral) => integral
bitwiseOr(integral, integral) => integral
bitwiseXor(any, any) => any
byName(string, [string]) => any
byNames(array, [string]) => any
byPosition(integer) => any
case(boolean, any, ...) => any
cbrt(number) => double
ceil(number) => number
char(number) => string
coalesce(any, ...) => any
collect(any) => array
compare(any, any) => integer
concat(string, string, ...) => string
concatWS(string, string, string, ...) => string
contains(array, function) => boolean
cos(number) => double
cosh(number) => double
count([any], ...) => long
countAll([any]) => long
countDistinct(any, [any], ...) => long
countIf(boolean, [any]) => long
crc32(any, ...) => long
cumeDist() => integer
currentDate([string]) => date
currentTimestamp() => timestamp
currentUTC([string]) => timestamp
dayOfMonth(datetime) => integer
dayOfWeek(datetime) => integer
dayOfYear(datetime) => integer
days(integer) => long
degrees(number) => double
denseRank() => integer
desc(any, [boolean]) => any
distinct(array) => array
divide(any, any) => any
dropLeft(string, integer) => string
dropRight(string, integer) => string
endsWith(string, string) => boolean
equals(any, any) => boolean
equalsIgnoreCase(string, string) => boolean
escape(string, string) => string
except(array, array) => array
factorial(number) => long
false() => boolean
filter(array, function) => array
find(array, function) => any
first(any, [boolean]) => any
floor(number) => number
fromBase64(string, [string]) => string
fromUTC(timestamp, [string]) => timestamp
greater(any, any) => boolean
greaterOrEqual(any, any) => boolean
greatest(any, ...) => any
hasColumn(string, [string]) => boolean
hour(timestamp, [string]) => integer
hours(integer) => long
iif(boolean, any, [any]) => any
iifNull(any, [any], ...) => any
in(array, any) => boolean
initCap(string) => string
instr(string, string) => integer
intersect(array, array) => array
isBoolean(string) => boolean
isDate(string, [string]) => boolean
isDouble(string, [string]) => boolean
isFloat(string, [string]) => boolean
isInteger(string, [string]) => boolean
isLong(string, [string]) => boolean
isNan(number) => boolean
isNull(any) => boolean
isShort(string, [string]) => boolean
isTimestamp(string, [string]) => boolean
lag(any, [number], [any]) => any
last(any, [boolean]) => any
lastDayOfMonth(datetime) => date
lead(any, [number], [any]) => any
least(any, ...) => any
left(string, integral) => string
length(string) => integer
lesser(any, any) => boolean
lesserOrEqual(any, any) => boolean
levenshtein(string, string) => integer
like(string, string) => boolean
locate(string, string, [integral]) => integer
log(number, [number]) => double
log10(number) => double
lower(string) => string
lpad(string, integral, string) => string
ltrim(string, [string]) => string
map(array, function) => any
max(any) => any
md5(any, ...) => string
millisecond(timestamp, [string]) => integer
milliseconds(integer) => long
min(any) => any
minus(any, any) => any
minute(timestamp, [string]) => integer
minutes(integer) => long
mod(any, any) => any
month(datetime) => integer
monthsBetween(datetime, datetime, [boolean], [string]) => double
multiply(any, any) => any
negate(number) => number
normalize(string) => string
not(boolean) => boolean
notEquals(any, any) => boolean
nTile([integer]) => integer
null() => null
or(boolean, boolean) => boolean
pMod(any, any) => any
partitionId() => integer
power(number, number) => double
radians(number) => double
random(integral) => long
rank() => integer
regexExtract(string, string, [integral]) => string
regexMatch(string, string) => boolean
regexReplace(string, string, string) => string
regexSplit(string, string) => array
replace(string, string, [string]) => string
reverse(string) => string
right(string, integral) => string
rlike(string, string) => boolean
round(number, [number], [integral]) => double
rowNumber() => integer
rpad(string, integral, string) => string
rtrim(string, [string]) => string
second(timestamp, [string]) => integer
seconds(integer) => long
sha1(any, ...) => string
sha2(integer, any, ...) => string
sin(number) => double
sinh(number) => double
size(any) => integer
slice(array, integral, [integral]) => array
soundex(string) => string
split(string, string) => array
sqrt(number) => double
startsWith(string, string) => boolean
stddev(number) => double
subDays(datetime, integral) => datetime
subMonths(datetime, integral) => datetime
substring(string, integral, [integral]) => string
substringIndex(string, string, integral) => string
sum(number) => number
sumIf(boolean, number) => number
tan(number) => double
tanh(number) => double
toBase64(string, [string]) => string
toBoolean(string) => boolean
toByte(any, [string], [string]) => byte
toDate(any, [string]) => date
toDecimal(any, [integral], [integral], [string], [string]) => decimal
toDouble(any, [string], [string]) => double
toFloat(any, [string], [string]) => float
toInteger(any, [string], [string]) => integer
toLong(any, [string], [string]) => long
toShort(any, [string], [string]) => short
toString(any, [string], [string]) => string
toTimestamp(any, [string], [string]) => timestamp
toUTC(timestamp, [string]) => timestamp
translate(string, string, string) => string
trim(string, [string]) => string
true() => boolean
typeMatch(string, string) => boolean
unescape(string, string) => string
upper(string) => string
uuid() => string
variance(number) => double
weekOfYear(datetime) => integer
weeks(integer) => long
xor(boolean, boolean) => boolean
year(datetime) => integer
"""

# Functions whose result has the type the (value) arguments share, rather than the declared ``any``.
COMMON_RESULT = {
    "iif": lambda n: range(1, n),
    "case": lambda n: [i for i in range(n) if i % 2 == 1 or i == n - 1 and n % 2 == 1],
    "coalesce": range,
    "iifNull": range,
    "greatest": range,
    "least": range,
    "max": range,
    "min": range,
    "first": lambda n: range(1),
    "last": lambda n: range(1),
    "lag": lambda n: [0] + ([2] if n > 2 else []),
    "lead": lambda n: [0] + ([2] if n > 2 else []),
}


@dataclass(frozen=True)
class Param:
    type: str
    optional: bool = False


@dataclass(frozen=True)
class Signature:
    name: str
    params: tuple[Param, ...]
    repeats: bool  # the last parameter may repeat
    returns: str

    @property
    def min_args(self) -> int:
        return sum(1 for p in self.params if not p.optional)

    @property
    def max_args(self) -> int | None:
        return None if self.repeats else len(self.params)

    def param(self, i: int) -> Param:
        if i < len(self.params):
            return self.params[i]
        return self.params[-1]

    def arity_text(self) -> str:
        lo, hi = self.min_args, self.max_args
        if hi is None:
            return f"at least {lo} argument{'s' if lo != 1 else ''}"
        if lo == hi:
            return f"{lo} argument{'s' if lo != 1 else ''}"
        return f"{lo} to {hi} arguments"

    def __str__(self) -> str:
        ps = [f"[{p.type}]" if p.optional else p.type for p in self.params]
        return f"{self.name}({', '.join(ps)}{', ...' if self.repeats else ''}) => {self.returns}"


_LINE = re.compile(r"^(\w+)\((.*)\) => (\w+)$")


def _parse_table(text: str) -> dict[str, Signature]:
    out: dict[str, Signature] = {}
    for line in text.strip().splitlines():
        m = _LINE.match(line.strip())
        if not m:
            raise ValueError(f"bad signature line {line!r}")
        name, body, returns = m.groups()
        parts = [p.strip() for p in body.split(",") if p.strip()]
        repeats = bool(parts) and parts[-1] == "..."
        if repeats:
            parts = parts[:-1]
        params = tuple(Param(p.strip("[]"), p.startswith("[")) for p in parts)
        out[name] = Signature(name, params, repeats, returns)
    return out


FUNCTIONS: dict[str, Signature] = _parse_table(SIGNATURES)
