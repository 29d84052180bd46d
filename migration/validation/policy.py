"""The rule policy of a delivery: severities changed and rules disabled by configuration.

`livraison.yaml` may say, under `regles`, that a rule gives errors instead of warnings (or the
reverse) and that some rules are not applied to this delivery:

    regles:
      severites: {id.postal_code: error}
      desactivees: [spreadsheet.scientific]
"""

from __future__ import annotations

import pandas as pd


def apply_rule_policy(findings: pd.DataFrame, policy: dict | None) -> pd.DataFrame:
    """Drop the findings of disabled rules and set the severities the policy changes."""
    if not policy or findings.empty:
        return findings
    disabled = set(policy.get("desactivees") or [])
    severities = policy.get("severites") or {}
    kept = findings[~findings["rule_id"].isin(disabled)].copy()
    if severities:
        changed = kept["rule_id"].map(severities)
        kept["severity"] = changed.where(changed.notna(), kept["severity"])
    return kept.reset_index(drop=True)
