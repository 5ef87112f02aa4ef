"""The rule expression language: grammar, safety limits, three-valued semantics, and the
agreement of its three evaluators (scalar, columnar, durable-rules JSON)."""
from __future__ import annotations

import json
import math
import random
import subprocess
import sys

import numpy as np
import pytest

from edubalance.expr import (
    MAX_LENGTH, MAX_NESTING, And, Arith, Compare, ExprError, In, Name, Neg, Not, Num, Or, Str,
    evaluate_columns, lift_arithmetic, names, parse, parse_condition, parse_value,
    to_durable,
)
from edubalance.table import Table

# --------------------------------------------------------------------------- grammar

A, B, C, X, Y = Name("a"), Name("b"), Name("c"), Name("x"), Name("y")


def is_true(name: Name) -> Compare:
    return Compare("==", name, Num(1.0))


@pytest.mark.parametrize("text, tree", [
    ("a + b * c", Arith("+", A, Arith("*", B, C))),
    ("a * b + c", Arith("+", Arith("*", A, B), C)),
    ("a - b - c", Arith("-", Arith("-", A, B), C)),          # left associative
    ("a / b / c", Arith("/", Arith("/", A, B), C)),
    ("a - (b - c)", Arith("-", A, Arith("-", B, C))),
    ("-a * b", Arith("*", Neg(A), B)),                      # unary binds tighter than *
    ("-(a * b)", Neg(Arith("*", A, B))),
    ("--a", Neg(Neg(A))),
    ("-3", Num(-3.0)),
    ("-(3)", Neg(Num(3.0))),
    ("a - -3", Arith("-", A, Num(-3.0))),
    ("2.5e3", Num(2500.0)),
    ("a + b > c * 2", Compare(">", Arith("+", A, B), Arith("*", C, Num(2.0)))),
    ("a or b and c", Or((is_true(A), And((is_true(B), is_true(C)))))),
    ("(a or b) and c", And((Or((is_true(A), is_true(B))), is_true(C)))),
    ("a and b and c", And((is_true(A), is_true(B), is_true(C)))),
    ("a or b or c", Or((is_true(A), is_true(B), is_true(C)))),
    ("not a and b", And((Not(is_true(A)), is_true(B)))),
    ("not a > 1", Not(Compare(">", A, Num(1.0)))),
    ("not not a", Not(Not(is_true(A)))),
    ("a not in [1, -2, true]", In(A, (1.0, -2.0, 1.0), True)),
    ("not a in [1]", Not(In(A, (1.0,), False))),
    ("s in ['rural', \"县镇\"]", In(Name("s"), ("rural", "县镇"), False)),
    ("a in []", In(A, (), False)),
    ("x==true", Compare("==", X, Num(1.0))),
    ("x != false", Compare("!=", X, Num(0.0))),
    ("  a\t<=\n3 ", Compare("<=", A, Num(3.0))),
    ("_x_0a and b1", And((is_true(Name("_x_0a")), is_true(Name("b1"))))),
])
def test_precedence_and_associativity(text, tree):
    assert parse(text) == tree


def test_keywords_are_case_sensitive():
    with pytest.raises(ExprError, match="write 'true'"):
        parse("x == True")
    assert parse("AND") == Name("AND")      # not a keyword, so an ordinary name


def test_parse_condition_reads_a_bare_name_as_true():
    assert parse("x") == X
    assert parse_condition("x") == Compare("==", X, Num(1.0))
    assert parse_condition("true") == And(())
    assert parse_condition("false") == Or(())
    assert parse_condition("x and true") == And((is_true(X), And(())))


@pytest.mark.parametrize("text", ["a + 1", "-a", "3", "'rural'", "a * (b - 2)"])
def test_parse_condition_rejects_values(text):
    with pytest.raises(ExprError, match="expected a condition"):
        parse_condition(text)


@pytest.mark.parametrize("text", ["a > 1", "a and b", "not a", "'rural'", "s in ['a']"])
def test_parse_value_rejects_conditions_and_text(text):
    with pytest.raises(ExprError, match="expected a numeric value"):
        parse_value(text)


def test_parse_value_accepts_numeric_expressions():
    assert parse_value("a / b") == Arith("/", A, B)
    assert parse_value("-2") == Num(-2.0)


@pytest.mark.parametrize("text", [
    "(a < b) + 1", "-(a < b)", "(a and b) * 2", "(a < b) == c", "(a < b) in [1]",
])
def test_a_condition_is_not_a_value(text):
    with pytest.raises(ExprError, match="expected a value"):
        parse(text)


@pytest.mark.parametrize("text, message", [
    ("a and 2", "expected a condition at column 7, got a number"),
    ("'a' < s", "text can only be compared with '==' or '!='"),
    ("s >= 'a'", "text can only be compared with '==' or '!='"),
    ("s + 'a' == 'b'", "text cannot be used in arithmetic"),
    ("a in [1, 'x']", "mixes numbers and text"),
    ("a in [b]", "expected a number, 'text', true or false in the list"),
    ("a in [1,]", "expected a number"),
    ("a in b", "expected a list '\\[...\\]' after 'in'"),
    ("a not 3", "expected 'in' after 'not'"),
    ("a < b < c", "comparisons cannot be chained"),
    ("[1] == a", "lists are only allowed after 'in'"),
    ("a[0] > 1", "indexing is not part of the rule language"),
    ("a = 1", "use '==' to compare"),
    ("a > 1 && b", "use 'and'"),
    ("(a > 1", "expected '\\)' to close the '\\(' at column 1"),
    ("a > 1)", "unexpected '\\)' at column 6"),
    ("", "empty expression"),
    ("   ", "empty expression"),
    ("a and", "unexpected end of input at column 6"),
    ("'open", "unterminated text starting at column 1"),
    ("1.2.3 > a", "malformed number at column 1"),
    ("3a > 1", "malformed number"),
    ("a > .5", "leading digit"),
    ("a > 1e999", "number out of range"),
    ("学校 == 1", "unexpected '学' at column 1"),
    ("x == None", "missing values are handled by the rule engine"),
    ("x is 1", "Python keywords are not part of the rule language"),
])
def test_syntax_errors_name_the_problem(text, message):
    with pytest.raises(ExprError, match=message):
        parse(text)


def test_error_names_the_column_of_the_first_problem():
    with pytest.raises(ExprError) as err:
        parse("__import__('os').system('x')")
    assert str(err.value) == ("第 11 列出现意外的 '('：规则语言没有函数 / "
                              "unexpected '(' at column 11: functions are not part of the rule language")


@pytest.mark.parametrize("text", [
    "__import__('os').system('rm -rf /')",
    "().__class__",
    "open('x')",
    "1; 2",
    "lambda: 1",
    "x ** 2",
    "x if y else z",
    "[c for c in x]",
    "a.b > 1",
    "{'a': 1}",
    "f(x) > 1",
    "x == `ls`",
    "x == $HOME",
    "x == 1 # comment",
    "x == '\\'' or 1",
])
def test_injection_attempts_are_syntax_errors(text):
    with pytest.raises(ExprError):
        parse(text)


def test_input_length_is_bounded():
    with pytest.raises(ExprError, match="10000 characters long; the limit is 2000"):
        parse("x" * 10_000)
    near_limit = " + ".join(["a"] * 60)
    assert len(near_limit) < MAX_LENGTH
    assert isinstance(parse(near_limit), Arith)


def test_nesting_is_bounded_without_blowing_the_stack():
    for text in ["(" * 1000 + "x" + ")" * 1000,          # longer than the limit too
                 "(" * 900 + "x" + ")" * 900,
                 "-" * 1000 + "x",
                 "not " * 400 + "x"]:
        with pytest.raises(ExprError):
            parse(text)
    with pytest.raises(ExprError, match=f"nested deeper than {MAX_NESTING} levels at column 51"):
        parse("(" * 60 + "x" + ")" * 60)
    assert parse("(" * MAX_NESTING + "x" + ")" * MAX_NESTING) == X
    with pytest.raises(ExprError, match="nested deeper than 100 levels"):
        parse("+".join(["a"] * 150))                    # a left-nested chain


def test_unknown_name_suggests_a_close_match():
    known = ["pupils_per_teacher", "building_area_per_pupil", "location"]
    with pytest.raises(ExprError) as err:
        parse_condition("pupils_pr_teacher > 3", known)
    assert str(err.value) == ("第 1 列的名称 'pupils_pr_teacher' 未知；是否想写 'pupils_per_teacher'？ / "
                              "unknown name 'pupils_pr_teacher' at column 1; did you mean 'pupils_per_teacher'?")
    with pytest.raises(ExprError) as err:
        parse_condition("location == 'rural' and zzz > 1", known)
    assert str(err.value) == "第 25 列的名称 'zzz' 未知 / unknown name 'zzz' at column 25"
    assert parse_condition("location == 'rural'", known) == Compare("==", Name("location"), Str("rural"))
    with pytest.raises(ExprError, match="unknown name 'a'"):
        parse_value("a + 1", known_names=[])


def test_names():
    assert names(parse("a + b * a > c or s in ['x'] and not d")) == {"a", "b", "c", "s", "d"}
    assert names(parse("1 < 2")) == set()


# --------------------------------------------------------------------------- canonical text


@pytest.mark.parametrize("text, canonical", [
    ("a+b*c", "a + b * c"),
    ("(a+b)*c", "(a + b) * c"),
    ("a-(b-c)", "a - (b - c)"),
    ("(a-b)-c", "a - b - c"),
    ("a/(b*c)", "a / (b * c)"),
    ("-(a+b)", "-(a + b)"),
    ("-(3)", "-(3)"),
    ("- 3", "-3"),
    ("3.0", "3"),
    ("0.1", "0.1"),
    ("1e20", "1e+20"),
    ("x==true", "x == 1"),
    ("x", "x"),
    ("a or (b or c)", "a == 1 or (b == 1 or c == 1)"),
    ("(a and b) and c", "(a == 1 and b == 1) and c == 1"),
    ("not (a and b)", "not (a == 1 and b == 1)"),
    ("not(a>1)", "not a > 1"),
    ("x not in[ 1,-2 ]", "x not in [1, -2]"),
    ("s in [\"it's\", 'b']", "s in [\"it's\", 'b']"),
    ("true or false", "true or false"),
])
def test_canonical_text(text, canonical):
    node = parse(text)
    assert str(node) == canonical
    assert parse(str(node)) == node


def test_canonical_text_round_trips_on_random_conditions():
    rng = random.Random(7)
    for _ in range(300):
        node = parse_condition(random_condition(rng, 3))
        assert parse_condition(str(node)) == node
        assert str(parse_condition(str(node))) == str(node)


def test_canonical_text_of_hand_built_nodes():
    assert str(Neg(Num(-3.0))) == "-(-3)"
    assert parse(str(Neg(Num(-3.0)))) == Neg(Num(-3.0))
    assert str(Arith("*", Num(2.0), Num(-3.0))) == "2 * -3"
    assert parse("2 * -3") == Arith("*", Num(2.0), Num(-3.0))
    with pytest.raises(ExprError):
        str(Str("both ' and \""))
    with pytest.raises(ExprError):
        str(Num(math.inf))


# --------------------------------------------------------------------------- three-valued semantics

T, F, U = True, False, None
VALUE_OF = {T: 1.0, F: 0.0, U: None}

KLEENE_AND = {(T, T): T, (T, F): F, (T, U): U, (F, T): F, (F, F): F, (F, U): F,
              (U, T): U, (U, F): F, (U, U): U}
KLEENE_OR = {(T, T): T, (T, F): T, (T, U): T, (F, T): T, (F, F): F, (F, U): U,
             (U, T): T, (U, F): U, (U, U): U}


def one_row_table(row: dict) -> Table:
    table = Table(1)
    for key, v in row.items():
        if isinstance(v, str):
            table.columns[key] = np.array([v], dtype=object)
        else:
            table.columns[key] = np.array([np.nan if v is None else float(v)])
    return table


def evaluate(node, row: dict):
    """``node`` over one record, as the API judges one: a table of one row (the scalar
    evaluator where it is sure to agree with the columnar one, the columnar one otherwise)."""
    table = one_row_table(row)
    if isinstance(node, (Compare, In, And, Or, Not)):
        return verdict_of_columns(node, table)
    values, valid = evaluate_columns(node, table)
    return (values[0] if isinstance(values[0], str) else float(values[0])) if valid[0] else None


def verdict_of_columns(node, table, i=0):
    t, f = evaluate_columns(node, table)
    assert not (t[i] and f[i])
    return True if t[i] else (False if f[i] else None)


@pytest.mark.parametrize("a", [T, F, U])
@pytest.mark.parametrize("b", [T, F, U])
def test_kleene_tables(a, b):
    row = {"a": VALUE_OF[a], "b": VALUE_OF[b]}
    table = one_row_table(row)
    for text, expected in [("a and b", KLEENE_AND[a, b]), ("a or b", KLEENE_OR[a, b]),
                           ("not a", None if a is None else not a),
                           ("not (a and b)", None if KLEENE_AND[a, b] is None else not KLEENE_AND[a, b])]:
        node = parse_condition(text)
        assert evaluate(node, row) is expected, text
        assert verdict_of_columns(node, table) is expected, text


def test_missing_is_unknown_never_false():
    node = parse_condition("x >= 3")
    for row in [{}, {"x": None}, {"x": math.nan}, {"x": np.float64("nan")}]:
        assert evaluate(node, row) is None
    assert evaluate(parse_condition("not x >= 3"), {}) is None
    assert evaluate(parse_condition("x != 3"), {}) is None
    assert evaluate(parse_condition("x not in [1, 2]"), {}) is None
    assert evaluate(parse_condition("x >= 3 or true"), {}) is True
    assert evaluate(parse_condition("x >= 3 and false"), {}) is False


def test_thresholds_are_exact():
    node = parse_condition("x >= 3")
    assert evaluate(node, {"x": 3}) is True
    assert evaluate(node, {"x": 2.999}) is False
    assert evaluate(parse_condition("x < 3"), {"x": 3.0}) is False
    assert evaluate(parse_condition("x == 0"), {"x": 0}) is True
    assert evaluate(parse_condition("x == 0"), {"x": -0.0}) is True


def test_row_values_booleans_and_numpy_scalars():
    assert evaluate(parse_condition("flag"), {"flag": True}) is True
    assert evaluate(parse_condition("flag"), {"flag": False}) is False
    assert evaluate(parse_condition("flag"), {"flag": 2}) is False
    assert evaluate(parse_condition("flag"), {"flag": np.bool_(True)}) is True
    assert evaluate(parse_condition("x > 1"), {"x": np.int64(2)}) is True
    assert evaluate(parse_value("x * 2"), {"x": np.float32(1.5)}) == 3.0
    odd = Table(1)
    odd.columns["x"] = np.array([None], dtype=object)
    odd.columns["x"][0] = [1]
    with pytest.raises(ExprError, match="unsupported type"):
        evaluate_columns(parse_condition("x > 1"), odd)


def test_what_a_table_finds_in_a_text_column_follows_the_column_and_is_the_callers_own():
    # A table finds where a text column holds values (or a text) once per column: a replaced
    # column is read anew, and no caller's changes reach another caller.
    table = Table(3)
    table.columns["location"] = np.array(["rural", None, "urban"], dtype=object)
    rural = parse_condition("location == 'rural'")
    assert [m.tolist() for m in evaluate_columns(rural, table)] == [[True, False, False], [False, False, True]]
    mask = table.present("location")
    mask[:] = False
    assert table.present("location").tolist() == [True, False, True]
    table.columns["location"] = np.array([None, "rural", "rural"], dtype=object)
    assert table.present("location").tolist() == [False, True, True]
    assert [m.tolist() for m in evaluate_columns(rural, table)] == [[False, True, True], [False, False, False]]
    found = table.equals("location", "rural")
    found[:] = False
    assert table.equals("location", "rural").tolist() == [False, True, True]
    table.columns["location"] = np.array(["urban", "rural", None], dtype=object)
    assert table.equals("location", "rural").tolist() == [False, True, False]
    assert table.equals("no_such_text_field", "rural").tolist() == [False, False, False]


def test_division_by_zero_is_unknown():
    assert evaluate(parse_value("a / b"), {"a": 1, "b": 0}) is None
    assert evaluate(parse_value("a / b"), {"a": 0, "b": 0}) is None
    assert evaluate(parse_condition("a / b > 1"), {"a": 1, "b": 0}) is None
    assert evaluate(parse_condition("not a / b > 1"), {"a": 1, "b": 0}) is None
    assert evaluate(parse_condition("a / b > 1 or b == 0"), {"a": 1, "b": 0}) is True
    assert evaluate(parse_condition("1 / 0 > 1"), {}) is None
    assert evaluate(parse_value("a / b"), {"a": 1, "b": 4}) == 0.25
    assert evaluate(parse_value("a * b"), {"a": 1e308, "b": 10}) is None     # overflow

    table = Table(4)
    table.columns["a"] = np.array([1.0, 0.0, 3.0, np.nan])
    table.columns["b"] = np.array([0.0, 0.0, 2.0, 1.0])
    values, valid = evaluate_columns(parse_value("a / b"), table)
    assert valid.tolist() == [False, False, True, False]
    assert np.isnan(values[[0, 1, 3]]).all() and values[2] == 1.5
    assert not np.isinf(values).any()
    t, f = evaluate_columns(parse_condition("a / b > 1"), table)
    assert t.tolist() == [False, False, True, False]
    assert f.tolist() == [False, False, False, False]


def test_membership_with_text():
    node = parse_condition("location in ['rural', '县镇']")
    assert evaluate(node, {"location": "rural"}) is True
    assert evaluate(node, {"location": "县镇"}) is True
    assert evaluate(node, {"location": "urban"}) is False
    assert evaluate(node, {"location": "Rural"}) is False
    assert evaluate(node, {}) is None
    negated = parse_condition("location not in ['rural']")
    assert evaluate(negated, {"location": "urban"}) is True
    assert evaluate(negated, {"location": "rural"}) is False
    assert evaluate(negated, {"location": None}) is None
    # an empty list is always false (and "not in []" always true), even for a missing value
    assert evaluate(parse_condition("location in []"), {}) is False
    assert evaluate(parse_condition("location not in []"), {}) is True

    table = Table(4)
    table.columns["location"] = np.array(["rural", "县镇", "urban", None], dtype=object)
    t, f = evaluate_columns(node, table)
    assert t.tolist() == [True, True, False, False]
    assert f.tolist() == [False, False, True, False]
    t, f = evaluate_columns(parse_condition("location == 'urban'"), table)
    assert t.tolist() == [False, False, True, False]
    assert f.tolist() == [True, True, False, False]
    t, f = evaluate_columns(parse_condition("location in []"), table)
    assert t.tolist() == [False] * 4 and f.tolist() == [True] * 4


def test_numeric_membership():
    node = parse_condition("stage_code in [1, 2.5, -3]")
    assert [evaluate(node, {"stage_code": v}) for v in (1, 2.5, -3, 3, None)] == [True, True, True, False, None]


def test_mixing_text_and_numbers_is_an_error_not_a_silent_false():
    with pytest.raises(ExprError, match="cannot compare text with a number"):
        evaluate(parse_condition("location == 1"), {"location": "rural"})
    with pytest.raises(ExprError, match="cannot compare text with a number"):
        evaluate(parse_condition("x in ['a']"), {"x": 1.0})
    with pytest.raises(ExprError, match="text cannot be used in arithmetic"):
        evaluate(parse_value("location + 1"), {"location": "rural"})
    with pytest.raises(ExprError, match="only be compared with"):
        evaluate(parse_condition("location < name"), {"location": "a", "name": "b"})
    # a missing value is unknown before its type matters
    assert evaluate(parse_condition("location == 1"), {}) is None

    table = Table(2)
    table.columns["location"] = np.array(["rural", None], dtype=object)
    with pytest.raises(ExprError, match="cannot compare text with a number"):
        evaluate_columns(parse_condition("location == 1"), table)
    with pytest.raises(ExprError, match="cannot compare text with a number"):
        evaluate_columns(parse_condition("location in [1]"), table)
    with pytest.raises(ExprError, match="text cannot be used in arithmetic"):
        evaluate_columns(parse_value("location * 2"), table)


def test_evaluate_columns_values_and_undefined_measures():
    table = Table(4)
    table.columns["pupils"] = np.array([100.0, 0.0, np.nan, 50.0])
    table.columns["teachers"] = np.array([5.0, 2.0, 3.0, 0.0])
    table.set_measure("area_per_pupil", np.array([4.0, np.nan, 2.0, 5.0]),
                      undefined=np.array([False, True, False, False]))
    values, valid = evaluate_columns(parse_value("pupils / teachers"), table)
    assert valid.tolist() == [True, True, False, False]
    assert values[0] == 20.0 and values[1] == 0.0
    t, f = evaluate_columns(parse_condition("area_per_pupil >= 4"), table)
    assert t.tolist() == [True, False, False, True]
    assert f.tolist() == [False, False, True, False]
    t, f = evaluate_columns(parse_condition("not area_per_pupil >= 4"), table)
    assert t.tolist() == [False, False, True, False]
    t, f = evaluate_columns(parse_condition("never_recorded > 1"), table)
    assert not t.any() and not f.any()
    values, valid = evaluate_columns(parse_value("3"), table)
    assert values.tolist() == [3.0] * 4 and valid.all()
    t, f = evaluate_columns(parse_condition("true"), table)
    assert t.all() and not f.any()


# --------------------------------------------------------------------------- random agreement

NUM_NAMES = ("a", "b", "c")
TEXTS = ("rural", "urban", "县镇")
NUM_LITERALS = ("0", "1", "2", "2.5", "3", "-1", "true", "false")
OPS = ("<", "<=", ">", ">=", "==", "!=")


def random_value(rng: random.Random, depth: int) -> str:
    r = rng.random()
    if depth <= 0 or r < 0.45:
        return rng.choice(NUM_NAMES) if rng.random() < 0.7 else rng.choice(NUM_LITERALS)
    if r < 0.55:
        return f"-({random_value(rng, depth - 1)})"
    return f"({random_value(rng, depth - 1)} {rng.choice('+-*/')} {random_value(rng, depth - 1)})"


def random_list(rng: random.Random, items: tuple) -> str:
    return "[" + ", ".join(rng.sample(items, rng.randrange(0, 3))) + "]"


def random_leaf(rng: random.Random) -> str:
    kind = rng.randrange(9)
    name, op = rng.choice(NUM_NAMES), rng.choice(OPS)
    if kind == 0:
        return f"{name} {op} {rng.choice(NUM_LITERALS)}"
    if kind == 1:
        return f"{rng.choice(NUM_LITERALS)} {op} {name}"
    if kind == 2:
        return f"{name} {op} {rng.choice(NUM_NAMES)}"
    if kind == 3:
        return f"{random_value(rng, 2)} {op} {random_value(rng, 2)}"
    if kind == 4:
        return f"s {rng.choice(['==', '!='])} '{rng.choice(TEXTS)}'"
    if kind == 5:
        return f"{name} {rng.choice(['in', 'not in'])} {random_list(rng, NUM_LITERALS)}"
    if kind == 6:
        quoted = tuple(f"'{t}'" for t in TEXTS)
        return f"s {rng.choice(['in', 'not in'])} {random_list(rng, quoted)}"
    if kind == 7:
        return name
    return rng.choice(["true", "false", "1 < 2", "'a' == 'b'"])


def random_condition(rng: random.Random, depth: int) -> str:
    if depth <= 0 or rng.random() < 0.35:
        return random_leaf(rng)
    if rng.random() < 0.2:
        return f"not ({random_condition(rng, depth - 1)})"
    word = rng.choice([" and ", " or "])
    return "(" + word.join(random_condition(rng, depth - 1) for _ in range(rng.randrange(2, 4))) + ")"


def random_rows(rng: random.Random, n: int) -> list[dict]:
    rows = []
    for _ in range(n):
        row = {k: rng.choice([None, 0.0, 1.0, 2.0, 2.5, 3.0, -1.0]) for k in NUM_NAMES}
        row["s"] = rng.choice(TEXTS + (None,))
        rows.append(row)
    return rows


def table_of(rows: list[dict]) -> Table:
    table = Table(len(rows))
    for k in NUM_NAMES:
        table.columns[k] = np.array([np.nan if r[k] is None else r[k] for r in rows])
    table.columns["s"] = np.array([r["s"] for r in rows], dtype=object)
    return table


def columns_verdicts(node, table) -> list:
    t, f = evaluate_columns(node, table)
    assert not (t & f).any()
    return [True if ti else (False if fi else None) for ti, fi in zip(t, f)]


def test_evaluate_columns_equals_evaluate_row_by_row():
    rng = random.Random(2024)
    for _ in range(200):
        rows = random_rows(rng, 12)
        table = table_of(rows)
        cond = parse_condition(random_condition(rng, 3))
        assert columns_verdicts(cond, table) == [evaluate(cond, r) for r in rows], str(cond)
        value = parse_value(random_value(rng, 3))
        values, valid = evaluate_columns(value, table)
        expected = [evaluate(value, r) for r in rows]
        assert valid.tolist() == [v is not None for v in expected], str(value)
        for got, want in zip(values, expected):
            assert (math.isnan(got) if want is None else got == pytest.approx(want)), str(value)


def test_lift_arithmetic():
    cond = parse_condition("a / b > 2 * 3 and -(3) < c and a / b in [1, 2] and -a <= b + 0")
    lifted, measures = lift_arithmetic(cond)
    div, neg_a, b_plus = parse_value("a / b"), parse_value("-a"), parse_value("b + 0")
    assert set(measures.values()) == {div, neg_a, b_plus}
    by_node = {node: name for name, node in measures.items()}
    for name in measures:
        assert name.startswith("_x_") and len(name) == 15
        int(name[3:], 16)
    assert lifted == And((
        Compare(">", Name(by_node[div]), Num(6.0)),
        Compare("<", Num(-3.0), C),
        In(Name(by_node[div]), (1.0, 2.0), False),
        Compare("<=", Name(by_node[neg_a]), Name(by_node[b_plus])),
    ))
    # the name depends only on the canonical text, so equal arithmetic is computed once
    again, measures2 = lift_arithmetic(parse_condition("(a)/(b) >= 1"))
    assert again.left == Name(by_node[div]) and measures2 == {by_node[div]: div}
    # a condition without arithmetic is unchanged
    plain = parse_condition("a > 1 or s == 'rural'")
    assert lift_arithmetic(plain) == (plain, {})
    # constant arithmetic that cannot be computed is lifted and stays unknown
    lifted, measures = lift_arithmetic(parse_condition("1 / 0 < a"))
    assert list(measures.values()) == [parse_value("1 / 0")]
    assert evaluate(lifted, {"a": 1, **{k: evaluate(v, {}) for k, v in measures.items()}}) is None


def test_lifted_conditions_agree_with_the_originals():
    rng = random.Random(99)
    for _ in range(150):
        rows = random_rows(rng, 8)
        cond = parse_condition(random_condition(rng, 3))
        lifted, measures = lift_arithmetic(cond)
        assert not any(isinstance(n, (Arith, Neg)) for n in walk(lifted))
        table = table_of(rows)
        for name, measure in measures.items():
            values, valid = evaluate_columns(measure, table)
            table.set_measure(name, values, undefined=~valid)
        for row in rows:
            extended = dict(row, **{k: evaluate(m, row) for k, m in measures.items()})
            assert evaluate(lifted, extended) is evaluate(cond, row), str(cond)
        assert columns_verdicts(lifted, table) == columns_verdicts(cond, table), str(cond)


def walk(node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        for attr in ("left", "right", "operand", "item"):
            if hasattr(n, attr):
                stack.append(getattr(n, attr))
        stack.extend(getattr(n, "items", ()))


# --------------------------------------------------------------------------- durable-rules JSON


def test_to_durable_comparison_with_a_constant():
    t, f, u = to_durable(parse_condition("x >= 3"))
    assert t == {"$and": [{"x__st": "ok"}, {"$gte": {"x": 3}}]}
    assert f == {"$and": [{"x__st": "ok"}, {"$lt": {"x": 3}}]}
    assert u == {"$neq": {"x__st": "ok"}}
    # a constant on the left flips the operator
    assert to_durable(parse_condition("3 <= x")) == (t, f, u)
    t, f, u = to_durable(parse_condition("x == 2.5"))
    assert t == {"$and": [{"x__st": "ok"}, {"x": 2.5}]}
    assert f == {"$and": [{"x__st": "ok"}, {"$neq": {"x": 2.5}}]}


def test_to_durable_field_against_field():
    t, f, u = to_durable(parse_condition("x >= y"))
    assert t == {"$and": [{"x__st": "ok"}, {"y__st": "ok"}, {"$gte": {"x": {"$m": "y"}}}]}
    assert f == {"$and": [{"x__st": "ok"}, {"y__st": "ok"}, {"$lt": {"x": {"$m": "y"}}}]}
    assert u == {"$or": [{"$neq": {"x__st": "ok"}}, {"$neq": {"y__st": "ok"}}]}


def test_to_durable_text_and_membership():
    t, f, u = to_durable(parse_condition("location == 'rural'"))
    assert t == {"$and": [{"location__st": "ok"}, {"location": "rural"}]}
    assert f == {"$and": [{"location__st": "ok"}, {"$neq": {"location": "rural"}}]}
    t, f, u = to_durable(parse_condition("location in ['rural', 'town']"))
    assert t == {"$and": [{"location__st": "ok"},
                          {"$or": [{"location": "rural"}, {"location": "town"}]}]}
    assert f == {"$and": [{"location__st": "ok"}, {"$neq": {"location": "rural"}},
                          {"$neq": {"location": "town"}}]}
    assert u == {"$neq": {"location__st": "ok"}}
    assert to_durable(parse_condition("location not in ['rural', 'town']")) == (f, t, u)


def test_to_durable_simplifies_constants_away():
    plain = to_durable(parse_condition("x > 1"))
    assert to_durable(parse_condition("x > 1 and true")) == plain
    assert to_durable(parse_condition("x > 1 or false")) == plain
    assert to_durable(parse_condition("x > 1 or x in []")) == plain
    assert to_durable(parse_condition("(x > 1 and 1 < 2) or 'a' == 'b'")) == plain
    always = {"$ex": {"school_id": 1}}
    never = {"$and": [{"school_id": ""}, {"$neq": {"school_id": ""}}]}
    assert to_durable(parse_condition("true")) == (always, never, never)
    assert to_durable(parse_condition("x in []")) == (never, always, never)
    assert to_durable(parse_condition("x > 1 or true")) == (always, never, never)
    assert to_durable(parse_condition("true"), anchor="county_code")[0] == {"$ex": {"county_code": 1}}


def test_to_durable_output_is_flat():
    t, f, u = to_durable(parse_condition("a > 1 and (b > 1 and (c > 1 and a < 5))"))
    assert t == {"$and": [{"a__st": "ok"}, {"$gt": {"a": 1}}, {"b__st": "ok"}, {"$gt": {"b": 1}},
                          {"c__st": "ok"}, {"$gt": {"c": 1}}, {"$lt": {"a": 5}}]}
    for cond in (t, f, u):
        text = json.dumps(cond)
        assert '"$and": [{"$and"' not in text and '"$or": [{"$or"' not in text


def test_to_durable_refuses_conditions_beyond_the_engine_limit():
    # every $and/$or takes two of the 31 expression slots of a durable-rules pattern
    wide = " or ".join(f"(a{i} > 1 and b{i} > 1)" for i in range(16))
    with pytest.raises(ExprError, match="too complex for durable-rules"):
        to_durable(parse_condition(wide))
    to_durable(parse_condition(" or ".join(f"(a{i} > 1 and b{i} > 1)" for i in range(3))))


@pytest.mark.parametrize("text, message", [
    ("a / b > 1", "lifted"),
    ("id == 'x'", "reserved by durable-rules"),
    ("sid > 1", "reserved by durable-rules"),
])
def test_to_durable_refuses(text, message):
    with pytest.raises(ExprError, match=message):
        to_durable(parse_condition(text))


# The engine runs in a child process: a bad condition can hang or crash it, which must fail
# this test rather than the test session. Its host starts no timer threads (no rule here uses
# time), so every action runs inside assert_fact; each hit is filed under the fact that
# matched it, and any engine error is reported with its fact.
DURABLE_RUNNER = r"""
import json, sys
from durable import engine

class QuietHost(engine.Host):
    def _run(self):
        pass

batches = json.load(sys.stdin)
host = QuietHost()
fired = {}
def action(cond, kind):
    return lambda c: fired.setdefault(c.m.id, []).append([cond, kind])
out = []
for b, batch in enumerate(batches):
    rules = {}
    for c, triple in enumerate(batch["conditions"]):
        for kind, m in zip("TFU", triple):
            rules[f"c{c}_{kind}"] = {"all": [{"m": m}], "run": action(c, kind)}
    name = f"batch{b}"
    host.set_rulesets({name: rules})
    results = []
    for i, fact in enumerate(batch["facts"]):
        fid = f"b{b}f{i}"
        fact = dict(fact, id=fid, sid=fid)
        error = None
        try:
            host.assert_fact(name, fact)
            host.delete_state(name, fid)
        except engine.MessageNotHandledException:
            pass
        except Exception as exc:
            error = repr(exc)
        results.append({"fired": fired.pop(fid, []), "error": error})
    out.append(results)
json.dump(out, sys.stdout)
"""


def test_durable_rules_agree_with_evaluate_and_evaluate_columns():
    pytest.importorskip("durable")
    rng = random.Random(31337)
    batches, expected = [], []
    too_complex = 0
    for _ in range(30):                      # 30 rulesets x 10 conditions x 10 records
        rows = random_rows(rng, 10)
        table = table_of(rows)
        conditions, triples, want = [], [], []
        while len(conditions) < 10:
            cond = parse_condition(random_condition(rng, 3))
            lifted, measures = lift_arithmetic(cond)
            try:
                triples.append(to_durable(lifted))
            except ExprError as err:             # the engine's 15 $and/$or per pattern
                assert "too complex for durable-rules" in str(err)
                too_complex += 1
                continue
            conditions.append((cond, lifted, measures))
            verdicts = [evaluate(cond, r) for r in rows]
            assert columns_verdicts(cond, table) == verdicts, str(cond)
            want.append(verdicts)
        facts = []
        for i, row in enumerate(rows):
            fact = {"school_id": f"S{i:03d}"}
            for cond, lifted, measures in conditions:
                for name in names(lifted):
                    v = evaluate(measures[name], row) if name in measures else row[name]
                    if v is not None:
                        fact[name], fact[name + "__st"] = v, "ok"
                    else:
                        fact[name + "__st"] = rng.choice(["missing", "na"])
                        if rng.random() < 0.5:
                            fact[name] = None
            facts.append(fact)
        batches.append({"conditions": triples, "facts": facts})
        expected.append((conditions, want))

    proc = subprocess.run([sys.executable, "-c", DURABLE_RUNNER], input=json.dumps(batches),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout)

    answer = {"T": True, "F": False, "U": None}
    checked = 0
    for (conditions, want), batch_result in zip(expected, results):
        for i, result in enumerate(batch_result):
            assert result["error"] is None, f"record {i}: {result['error']}"
            for c, (cond, _, _) in enumerate(conditions):
                # an $or matcher fires once per matching branch: count each kind once
                kinds = {kind for cc, kind in result["fired"] if cc == c}
                assert len(kinds) == 1, f"{cond}: fired {sorted(kinds)} for record {i}"
                assert answer[kinds.pop()] is want[c][i], f"{cond} on record {i}"
                checked += 1
    assert checked == 30 * 10 * 10
    assert too_complex < 30                     # the limit only bites on large conditions


@pytest.mark.parametrize("text, known, chinese, english", [
    ("students >> 3", None, "第 11 列出现意外的 '>'：应为值", "unexpected '>' at column 11: expected a value"),
    ("studnets > 3", ["students"], "第 1 列的名称 'studnets' 未知；是否想写 'students'？",
     "unknown name 'studnets' at column 1; did you mean 'students'?"),
    ("(students > 3", None, "第 14 列处表达式意外结束：应为闭合第 1 列 '(' 的 ')'",
     "unexpected end of input at column 14: expected ')' to close the '(' at column 1"),
])
def test_a_typical_mistake_is_told_in_chinese_first(text, known, chinese, english):
    """A rule pack author reads Chinese first: 中文 / English, both with the column."""
    with pytest.raises(ExprError) as err:
        parse(text, known)
    message = str(err.value)
    assert message.startswith(chinese), message
    assert message.index(" / ") < message.index(english), message
