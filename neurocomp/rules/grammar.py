"""Parser for Loihi learning-rule expressions, a position-aware twin of Lava 0.10's grammar.

Lava parses ``dw``/``dd``/``dt`` strings in two stages (``lava/magma/core/learning/
symbolic_equation.py`` then ``product_series.py: ProductSeries._generate_product``). This module
re-implements both, symbol for symbol and in the same matching order, so that it accepts exactly
the strings Lava accepts and yields the same products (dependency, factors with constants, scale
mantissa and exponent). What it adds: errors are ``ValidationError`` naming the target, the
position (0-based, in the string as written), the offending token and what is allowed, instead of
Lava's ``AttributeError: 'NoneType' object has no attribute 'expr'``; and a ``NeurocompWarning``
where Lava silently reads a string differently from how it looks (see "Quirks").

Grammar (spaces are removed first; ``+``/``-`` at the top level start a new product, ``*`` is
ignored, so juxtaposition multiplies too)::

    expression := product (('+' | '-') product)*
    product    := ['+' | '-'] item ('*'? item)*
    item       := dependency | variable | literal | '(' sub ')' | 'sgn(' sub ')'
    dependency := 'x0' | 'y0' | 'u' DIGIT            # first one in a product is THE dependency
    variable   := 'x1' | 'x2' | 'y1' | 'y2' | 'y3' | 'w' | 'd' | 't'
    literal    := N '*2^' [+-]N | '2^' [+-]N | N     # N = decimal digits
    sub        := [+-] (variable|dependency) [+-] literal | [+-] literal [+-] (variable|dependency)
                | [+-] variable | [+-] literal

Semantics of one product (Lava's): all literals multiply into one scale ``m * 2**e`` (also a
literal alone in brackets, with its sign); ``(v + c)`` is a factor with constant ``c``;
``(c - v)`` becomes the factor ``(v - c)`` with the scale negated; a later ``x0``/``y0`` is a
width-1 factor; a later ``uk`` only sets the decimation exponent. Then::

    while |m| > 7 and m even and e < 8:  m //= 2 (as int(m / 2)); e += 1
    require a dependency, -8 <= m <= 7, -7 <= e <= 8;  stored s_exp = e + 7

Quirks reproduced (Lava accepts these; a warning says how they are read): ``u10`` is ``u1``
times the literal 0; ``(-w)`` and ``sgn(-w)`` drop the minus; a bracket holding more than
``var op const`` ignores the rest (``(w - 2*x1)`` is ``(w - 2)``); an operator position in a
bracket holding something else counts as ``+``; a bracket holding only a dependency (``(x0)``)
is dropped.
"""
from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field

from ..errors import NeurocompWarning, ValidationError

#: Targets and the synaptic variable each one updates (Lava's SYNAPTIC_VARIABLE_VAR_MAPPING).
TARGETS = {"dw": "weights", "dd": "tag_2", "dt": "tag_1"}
#: Bit width of each factor's value (lava/magma/core/learning/constants.py FACTOR_TO_WIDTH_DICT).
FACTOR_WIDTH = {"x0": 1, "y0": 1, "x1": 7, "x2": 7, "y1": 7, "y2": 7, "y3": 7, "w": 9, "d": 9, "t": 9, "C": 8}
#: Bits of the scale mantissa and unsigned bits of the 16-bit synaptic-change accumulator.
W_S_MANT = 4
W_ACCUMULATOR_U = 15
TRACES = ("x1", "x2", "y1", "y2", "y3")
SYNAPTIC_VARS = ("w", "d", "t")
ALLOWED = ("x0, y0, u0..u9 (dependencies), x1, x2, y1, y2, y3, w, d, t (variables), literals n, 2^k, n*2^k, "
           "(var +/- literal), (literal +/- var), sgn(w|d|t +/- literal), and the operators + - *")


@dataclass(frozen=True)
class Factor:
    """One factor of a product: ``var + const`` (``sgn(var + const)`` when ``is_sgn``).

    ``var`` is a trace (x1..y3), a synaptic variable (w, d, t) or a dependency used as a factor
    (x0, y0). ``const`` is None when absent; it can be a float when the literal has a negative
    exponent (``(w + 2^-1)``), as in Lava.
    """
    var: str
    const: int | float | None = None
    is_sgn: bool = False

    @property
    def width(self) -> int:
        return FACTOR_WIDTH[self.var]

    def __str__(self) -> str:
        body = self.var if self.const is None else f"{self.var}{self.const:+}"
        return f"sgn({body})" if self.is_sgn else (f"({body})" if self.const is not None else body)


@dataclass(frozen=True)
class Product:
    """One product: ``scale * dependency * factors``; scale = ``s_mantissa * 2**(s_exp - 7)``.

    ``s_exp`` is stored biased by 7 exactly as Lava's ``Product.s_exp``. ``start``/``end`` locate
    the product in the expression as written.
    """
    dependency: str
    s_mantissa: int
    s_exp: int
    factors: tuple[Factor, ...]
    decimate_exponent: int | None
    start: int
    end: int

    @property
    def width_sum(self) -> int:
        """Sum of factor widths plus the mantissa's 4 bits (Lava's ``factor_width_sum``)."""
        return sum(f.width for f in self.factors) + W_S_MANT

    @property
    def shift(self) -> int:
        """Right shift that brings the product back to the 15-bit accumulator: the bit loss."""
        return max(0, self.width_sum - W_ACCUMULATOR_U)

    @property
    def scale(self) -> float:
        return self.s_mantissa * 2.0 ** (self.s_exp - 7)

    def __str__(self) -> str:
        return " * ".join([f"{self.s_mantissa}*2^{self.s_exp - 7}", self.dependency] + [str(f) for f in self.factors])


@dataclass(frozen=True)
class ParsedExpression:
    """A parsed ``dw``/``dd``/``dt`` expression: its products in order."""
    target: str
    text: str
    products: tuple[Product, ...]
    decimate_exponent: int | None

    @property
    def syn_var(self) -> str:
        return TARGETS[self.target]

    def __str__(self) -> str:
        return f"{self.target} = " + " + ".join(f"[{p}]" for p in self.products)


# ----------------------------------------------------------------------------------- tokens
@dataclass
class _Tok:
    """A Lava symbol with its position in the original text. ``kind``: add sub mul dep uk var lit br sgn."""
    kind: str
    text: str
    pos: int
    end: int
    mantissa: int = 0
    base: int = 1
    exponent: int = 0
    k: int = 0
    sub: list = field(default_factory=list)
    sub_text: str = ""


#: Lava's SYMBOL_CLASSES order (symbolic_equation.py): the first match wins.
_SIMPLE = [("add", r"\+"), ("sub", r"\-"), ("mul", r"\*"), ("dep", r"x0"), ("dep", r"y0"), ("uk", r"u\d"),
           ("var", r"x[12]"), ("var", r"y[123]"), ("var", r"w"), ("var", r"d"), ("var", r"t")]
_LIT0 = re.compile(r"[\+\-]?[0-9]+\*2\^[\+\-]?[0-9]+")
_LIT1 = re.compile(r"[\+\-]?2\^[\+\-]?[0-9]+")
_LIT2 = re.compile(r"[\+\-]?[0-9]+")
_SIMPLE_RE = [(k, re.compile(p)) for k, p in _SIMPLE]


class _Lexer:
    """Splits the space-stripped text into Lava's symbols, remembering original positions."""

    def __init__(self, target: str, text: str):
        self.target, self.text = target, text
        keep = [i for i, ch in enumerate(text) if ch != " "]       # Lava strips ' ' only (re.sub(' ', ''))
        self.stripped = "".join(text[i] for i in keep)
        self.orig = keep + [len(text)]                              # stripped index -> original index

    def error(self, message: str, hint: str = "") -> ValidationError:
        """'<target>: <what> at position <i> in '<text>'[; <what to do>]'."""
        return ValidationError(f"{self.target}: {message} in {self.text!r}" + (f"; {hint}" if hint else ""))

    def pos(self, i: int) -> int:
        return self.orig[i]

    def _int(self, digits: str, i: int) -> int:
        """Lava evaluates literals with ast.literal_eval, which rejects leading zeros ('07')."""
        try:
            return int(ast.literal_eval(digits))
        except (SyntaxError, ValueError):
            raise self.error(f"literal '{digits}' at position {self.pos(i)} is not a valid integer",
                             "write it without leading zeros") from None

    def literal(self, i: int, hi: int):
        s = self.stripped[:hi]
        for kind, rx in ((0, _LIT0), (1, _LIT1), (2, _LIT2)):
            m = rx.match(s, i)
            if m is None:
                continue
            txt = m.group()
            tok = _Tok("lit", txt, self.pos(i), self.pos(m.end() - 1) + 1)
            if kind == 0:
                left, right = txt.split("^")
                tok.mantissa, tok.base, tok.exponent = self._int(left[:-2], i), 2, self._int(right, i)
            elif kind == 1:
                left, right = txt.split("^")
                tok.mantissa, tok.base, tok.exponent = int(self._int(left, i) / 2), 2, self._int(right, i)
            else:
                tok.mantissa, tok.base, tok.exponent = self._int(txt, i), 1, 0
            return tok, m.end()
        return None, i

    def closing(self, i: int) -> int:
        """Index of the bracket closing the '(' at stripped index i (Lava's _find_closing_bracket_idx)."""
        depth = 0
        for j in range(i, len(self.stripped)):
            ch = self.stripped[j]
            if ch in "()":
                depth += 1 if ch == "(" else -1
                if depth == 0:
                    return j
        raise self.error(f"bracket opened at position {self.pos(i)} is never closed")

    def bad_token(self, i: int) -> ValidationError:
        s = self.stripped
        j = i + 1
        if s[i].isalnum() or s[i] == "_":
            while j < len(s) and (s[j].isalnum() or s[j] == "_"):
                j += 1
        tok = self.text[self.pos(i):self.pos(j - 1) + 1]
        return self.error(f"unexpected token {tok!r} at position {self.pos(i)}", f"allowed: {ALLOWED}")

    def tokens(self, lo: int, hi: int) -> list[_Tok]:
        """Lava's _parse on stripped[lo:hi]: one symbol after another until the range is consumed."""
        out = []
        i = lo
        s = self.stripped
        if lo >= hi:
            raise self.error(f"empty expression at position {self.pos(lo)}",
                             "write a product such as '2^-2*x1*y0', or leave the target out (None)")
        while i < hi:
            view = s[:hi]
            tok = None
            for kind, rx in _SIMPLE_RE:
                m = rx.match(view, i)
                if m:
                    tok = _Tok(kind, m.group(), self.pos(i), self.pos(m.end() - 1) + 1)
                    if kind == "uk":
                        tok.k = int(m.group()[1])
                    i = m.end()
                    break
            if tok is None and (s[i] == "(" or s.startswith("sgn(", i)):
                is_sgn = s[i] != "("
                open_i = i + 3 if is_sgn else i
                close = self.closing(open_i)
                if close >= hi:
                    raise self.error(f"bracket opened at position {self.pos(open_i)} is never closed")
                tok = _Tok("sgn" if is_sgn else "br", s[i:close + 1], self.pos(i), self.pos(close) + 1)
                tok.sub_text = self.text[self.pos(open_i) + 1:self.pos(close)]
                if open_i + 1 == close:
                    raise self.error(f"empty brackets at position {self.pos(open_i)}",
                                     "put 'var +/- literal' inside or remove them")
                tok.sub = self.tokens(open_i + 1, close)
                i = close + 1
            if tok is None:
                tok, i = self.literal(i, hi)
            if tok is None:
                raise self.bad_token(i)
            out.append(tok)
        return out


# ----------------------------------------------------------------------------------- products
def _warn(target: str, text: str, message: str) -> None:
    warnings.warn(f"{target}: {message} in {text!r} (this is how Lava reads it)", NeurocompWarning, stacklevel=4)


def _bracket(lex: _Lexer, tok: _Tok, m: int):
    """A '(...)' or 'sgn(...)' item, as Lava reads it: returns (scale mantissa, exponent to add, factor or None)."""
    target, text = lex.target, lex.text
    is_sgn = tok.kind == "sgn"
    where = f"'{tok.text}' at position {tok.pos}"
    sub = list(tok.sub)
    if sub[0].kind not in ("add", "sub", "mul"):
        sub.insert(0, _Tok("add", "+", tok.pos, tok.pos))
    var = const = None
    var_sgn = None
    exp_add = 0
    if len(sub) <= 2:
        if len(sub) < 2:
            raise lex.error(f"{where} has nothing after its operator", "write '(var +/- literal)'")
        op, item = sub
        sign = -1 if op.kind == "sub" else 1
        if item.kind == "var":
            var = item.text
            if sign < 0:
                _warn(target, text, f"the minus in {where} is dropped, it reads as '{item.text}'")
        elif item.kind == "lit":
            m = m * item.mantissa * sign
            exp_add = item.exponent
        else:
            _warn(target, text, f"{where} holds no variable or literal and is ignored")
    else:
        if len(sub) < 4:
            raise lex.error(f"{where} is incomplete", "write '(var +/- literal)' or '(literal +/- var)'")
        if sub[1].kind in ("dep", "uk", "var") and sub[3].kind == "lit":
            var_sgn, var_i, c_sgn, c_i = 0, 1, 2, 3
        elif sub[3].kind in ("dep", "uk", "var") and sub[1].kind == "lit":
            var_sgn, var_i, c_sgn, c_i = 2, 3, 0, 1
        else:
            raise lex.error(f"{where} cannot be read as '[+,-]var [+,-]const'",
                            "a bracket holds one variable and one literal")
        if len(sub) > 4:
            used = text[sub[0].pos if sub[0].end > sub[0].pos else sub[1].pos:sub[3].end]
            _warn(target, text, f"{where}: only {used!r} is used, the rest of the bracket is ignored")
        for idx in (var_sgn, c_sgn):
            if sub[idx].kind not in ("add", "sub"):
                _warn(target, text, f"{where}: '{sub[idx].text}' before '{sub[idx + 1].text}' counts as '+'")
        var = sub[var_i].text
        if sub[var_i].kind == "uk":
            raise lex.error(f"{where}: the decimation dependency '{var}' cannot be a bracket factor",
                            "put uk first in the product, outside brackets")
        lit = sub[c_i]
        const = lit.mantissa * lit.base ** lit.exponent * (-1 if sub[c_sgn].kind == "sub" else 1)
        if sub[var_sgn].kind == "sub":
            m, const = -m, -const
    if is_sgn:
        if var not in SYNAPTIC_VARS:
            raise lex.error(f"{where}: sgn(..) is applied to {var or 'a literal'}", "sgn(..) applies only to w, d or t")
        if var_sgn is not None and sub[var_sgn].kind == "sub":
            raise lex.error(f"{where}: the variable in sgn(..) is negated", "write sgn(var +/- literal)")
        return m, exp_add, Factor(var, const, True)
    return m, exp_add, (None if var is None else Factor(var, const))


def parse_rule_expression(text: str, target: str = "dw") -> ParsedExpression:
    """Parse one learning-rule expression exactly as Lava 0.10's Loihi2F/3F rules do.

    ``target`` is "dw", "dd" or "dt". Returns the products in order. Raises ValidationError naming
    the target, the 0-based position, the token and what is allowed, e.g.
    ``dw: unexpected token 'q' at position 8; allowed: ... in 'x0*y1 - q'``.
    """
    if target not in TARGETS:
        raise ValidationError(f"learning rule target {target!r} is not one of {sorted(TARGETS)}")
    if not isinstance(text, str):
        raise ValidationError(f"{target}: expression must be a string, got {type(text).__name__}")
    lex = _Lexer(target, text)
    toks = lex.tokens(0, len(lex.stripped))
    groups: list[list[_Tok]] = []
    cur: list[_Tok] = []
    for tok in toks:                       # Lava's _separate_products
        if tok.kind == "mul":
            continue
        if tok.kind in ("add", "sub") and cur:
            groups.append(cur)
            cur = [tok]
        else:
            cur.append(tok)
    groups.append(cur)
    series_k = [None]
    products = []
    for g in groups:
        products.append(_product(lex, g, series_k))
    return ParsedExpression(target, text, tuple(products), series_k[0])


def _product(lex: _Lexer, toks: list[_Tok], series_k: list) -> Product:
    """Lava's ProductSeries._generate_product on one product's symbols ('*' removed).

    ``series_k`` holds the expression's decimation exponent (one k per expression, as Lava)."""
    text = lex.text
    if not toks:                      # only '*' symbols: Lava finds no dependency
        raise lex.error("the expression holds no product", "write a product such as '2^-2*x1*y0'")
    start, end = toks[0].pos, toks[-1].end
    where = f"product {text[start:end]!r} at position {start}"
    dependency = None
    decimate = None
    m, e = 1, 0
    factors: list[Factor] = []
    for tok in toks:
        if tok.kind == "add":
            continue
        if tok.kind == "sub":
            m = -m
        elif tok.kind == "uk":
            decimate = tok.k
            if series_k[0] is not None and series_k[0] != decimate:
                raise lex.error(f"{where}: 'u{decimate}' differs from 'u{series_k[0]}' used before",
                                "use one decimation exponent k per expression")
            series_k[0] = decimate
            if dependency is None:
                dependency = "u"
            elif dependency != "u":
                raise lex.error(f"{where}: '{tok.text}' at position {tok.pos} follows the dependency "
                                f"'{dependency}'", "a uk dependency must come first in its product")
        elif tok.kind == "dep":
            if dependency is None:
                dependency = tok.text
            else:
                factors.append(Factor(tok.text))
        elif tok.kind == "lit":
            m *= tok.mantissa
            e += tok.exponent
        elif tok.kind == "var":
            factors.append(Factor(tok.text))
        else:
            m, de, factor = _bracket(lex, tok, m)
            e += de
            if factor is not None:
                factors.append(factor)
    while abs(m) > 7 and m % 2 == 0 and e < 8:
        m = int(m / 2)
        e += 1
    if dependency is None:
        raise lex.error(f"{where} has no dependency", "start each product with x0, y0 or uk (e.g. '2^-2*x0*y1')")
    if m < -8 or m >= 8:
        raise lex.error(f"{where}: scale mantissa {m} (scale {m}*2^{e}) is outside -8..7",
                        "write the constant as m*2^e with -8 <= m <= 7 and -7 <= e <= 8")
    if e < -7 or e >= 9:
        raise lex.error(f"{where}: scale exponent {e} (scale {m}*2^{e}) is outside -7..8",
                        "write the constant as m*2^e with -8 <= m <= 7 and -7 <= e <= 8")
    return Product(dependency, m, e + 7, tuple(factors), decimate, start, end)


# ----------------------------------------------------------------------------------- whole rules
#: Lava's Loihi3FLearningRule fixes the post traces' parameters: no impulse, tau = uint16 max.
THREE_FACTOR_Y_TAU = 65535
_UK_RAW = re.compile("u[0-9]+")


@dataclass(frozen=True)
class ParsedRule:
    """A LearningRule with its expressions parsed, as Lava's LoihiLearningRule holds it.

    ``expressions`` maps "dw"/"dd"/"dt" (Lava's order) to the parsed expression of each given one.
    ``decimate_exponent`` is Lava's rule-level k: found with the regex ``u[0-9]+`` on the raw
    strings (so ``u 1`` with a space is not found and u stays 0, as in Lava). ``three_factor`` is
    true when the rule names a third-factor input (Lava's Loihi3FLearningRule).
    """
    rule: object
    expressions: dict
    decimate_exponent: int | None
    three_factor: bool

    def y_params(self) -> tuple[tuple[float, float], ...]:
        """(impulse, tau) of y1, y2, y3 as Lava uses them (3F: (0, 65535) each)."""
        r = self.rule
        if self.three_factor:
            return ((0.0, THREE_FACTOR_Y_TAU),) * 3
        return ((r.y1_impulse, r.y1_tau), (r.y2_impulse, r.y2_tau), (r.y3_impulse, r.y3_tau))

    def x_params(self) -> tuple[tuple[float, float], ...]:
        r = self.rule
        return ((r.x1_impulse, r.x1_tau), (r.x2_impulse, r.x2_tau))


def parse_rule(rule) -> ParsedRule:
    """Parse every expression of a ``neurocomp.ir.LearningRule`` and apply Lava's rule-level checks.

    Raises ValidationError naming the rule, the target, position and token; for a three-factor rule
    (``third_factor`` set) the y impulses/taus must be 0, because in Lava's 3F mode y1..y3 are the
    values received from the third-factor ports, not traces of post spikes.
    """
    where = f"learning rule '{rule.name}'"
    expressions = {}
    for target in TARGETS:
        text = getattr(rule, target)
        if text is None:
            continue
        try:
            expressions[target] = parse_rule_expression(text, target)
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc}") from None
    found = [m for target in expressions for m in _UK_RAW.findall(getattr(rule, target))]
    if len(set(found)) > 1:
        raise ValidationError(f"{where}: dw/dd/dt use different decimation dependencies {sorted(set(found))}; "
                              "Lava allows one uk (same k) across a rule")
    decimate = int(found[0][1]) if found else None
    three = rule.third_factor is not None
    if three:
        bad = [k for k in ("y1_impulse", "y1_tau", "y2_impulse", "y2_tau", "y3_impulse", "y3_tau")
               if getattr(rule, k) != 0]
        if bad:
            raise ValidationError(f"{where}: third_factor '{rule.third_factor}' makes it a three-factor rule, whose "
                                  f"y1..y3 are the reward values received each step; set {bad} to 0")
    return ParsedRule(rule, expressions, decimate, three)
