"""Learning rules: Lava's expression grammar and constructors for the common rules.

``nc.rules.attach_rules(net, "rules.toml")`` attaches them from a side file (NIR has none).
``nc.rules.stdp(...)``, ``nc.rules.hebbian(...)``, ``nc.rules.rstdp(...)`` build
``neurocomp.ir.LearningRule`` objects; ``parse_rule_expression`` / ``parse_rule`` parse them exactly
as Lava 0.10 does (see :mod:`neurocomp.rules.grammar`).
"""
from .constructors import hebbian, rstdp, scale_literal, stdp
from .sidefile import attach_rules, read_rules_file
from .grammar import (Factor, ParsedExpression, ParsedRule, Product, THREE_FACTOR_Y_TAU, parse_rule,
                      parse_rule_expression)

__all__ = ["stdp", "hebbian", "rstdp", "attach_rules", "read_rules_file", "scale_literal", "parse_rule_expression", "parse_rule", "ParsedExpression",
           "ParsedRule", "Product", "Factor", "THREE_FACTOR_Y_TAU"]
