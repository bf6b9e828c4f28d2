"""A generated PII test set: strings with one embedded PII value of a known type in varied contexts
(prose, logs, JSON, code, CSV), and PII-free look-alikes (order numbers, dates, versions, IPs,
hashes, invalid cards and IBANs, invalid SSNs, ISBNs, EANs, money, times).

Values are synthesised with real checksums (Luhn with issuer prefixes, ISO 13616 mod-97, SSA area
rules), so the detector has to check them, not just match digits. Seeded: the same strings every run.
"""

from __future__ import annotations

import base64
import random
import string

FIRST = "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert sybil trent victor walter".split()
LAST = "smith jones o.brien nguyen garcia muller rossi kowalski silva tanaka dubois novak svensson".split()
DOMAINS = ["example.com", "mail.example.org", "corp.example.co.uk", "uni.example.edu", "example.io", "post.example.de",
           "example.info", "dept.example.gov", "example.dev", "web.example.fr"]

CONTEXTS = [
    "Please contact {x} for details.",
    "My {label} is {x}, thanks.",
    "{x}",
    "Reach out ({x}) before Friday.",
    "details: {x}; see attached",
    '{{"user": "jo", "{label}": "{x}"}}',
    "2024-05-01 12:00:01 INFO request user={x} status=200",
    "Customer wrote: you can use {x} if needed.",
    "- {label}: {x}\n- status: pending",
    "name,{label},city\nJo,{x},Leeds",
    "Forwarding the note from support -- {x} -- as discussed.",
    "I typed {x} into the form but it failed.",
    "<td>{x}</td>",
    "Sure! Here it is: {x}. Anything else?",
    "the value ({x}) was copied from the old system",
]


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these digits are doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def card(rng: random.Random, valid: bool = True) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16), ("34", 15), ("37", 15),
                                 ("6011", 16), ("65", 16), ("3530", 16), ("4", 19)])
    number = _luhn_complete(prefix, length, rng)
    if not valid:
        number = number[:-1] + str((int(number[-1]) + rng.randint(1, 9)) % 10)
    style = rng.choice(["plain", "space", "dash"])
    if style == "plain":
        return number
    if length == 15:
        groups = [number[:4], number[4:10], number[10:]]
    else:
        groups = [number[i:i + 4] for i in range(0, length, 4)]
    return (" " if style == "space" else "-").join(groups)


IBAN_FORMATS = {  # country: BBAN shape (L = capital letter, D = digit)
    "GB": "LLLL" + "D" * 14, "DE": "D" * 18, "FR": "D" * 23, "NL": "LLLL" + "D" * 10, "ES": "D" * 20,
    "IT": "L" + "D" * 22, "BE": "D" * 12, "CH": "D" * 17, "AT": "D" * 16, "PL": "D" * 24, "SE": "D" * 20,
    "NO": "D" * 11, "IE": "LLLL" + "D" * 14, "PT": "D" * 21,
}


def _iban_check(country: str, bban: str) -> str:
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{98 - int(numeric) % 97:02d}"


def iban(rng: random.Random, valid: bool = True) -> str:
    country = rng.choice(sorted(IBAN_FORMATS))
    bban = "".join(rng.choice(string.ascii_uppercase) if c == "L" else rng.choice(string.digits)
                   for c in IBAN_FORMATS[country])
    check = _iban_check(country, bban)
    if not valid:
        check = f"{(int(check) + rng.randint(1, 90)) % 100:02d}"
        if check == _iban_check(country, bban):
            check = f"{(int(check) + 1) % 100:02d}"
    compact = country + check + bban
    if rng.random() < 0.5:
        return compact
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def email(rng: random.Random) -> str:
    local = rng.choice([f"{rng.choice(FIRST)}.{rng.choice(LAST)}", f"{rng.choice(FIRST)}{rng.randint(1, 99)}",
                        f"{rng.choice(FIRST)}+{rng.choice(['news', 'shop', 'x'])}", f"{rng.choice(FIRST)[0]}_{rng.choice(LAST)}"])
    address = f"{local.replace('o.brien', 'obrien')}@{rng.choice(DOMAINS + ['my-company.example.com', 'x.example.museum'])}"
    return address.title() if rng.random() < 0.1 else address


def phone(rng: random.Random) -> str:
    d = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
    nz = lambda: str(rng.randint(2, 9))  # noqa: E731
    return rng.choice([
        f"+1 {nz()}{d(2)} {nz()}{d(2)} {d(4)}", f"+1-{nz()}{d(2)}-{nz()}{d(2)}-{d(4)}", f"({nz()}{d(2)}) {nz()}{d(2)}-{d(4)}",
        f"{nz()}{d(2)}-{nz()}{d(2)}-{d(4)}", f"{nz()}{d(2)}.{nz()}{d(2)}.{d(4)}", f"1-800-{nz()}{d(2)}-{d(4)}",
        f"+44 20 {d(4)} {d(4)}", f"+44 7{d(3)} {d(6)}", f"020 {d(4)} {d(4)}", f"07{d(3)} {d(6)}",
        f"+49 30 {d(8)}", f"030 {d(8)}", f"+33 1 {d(2)} {d(2)} {d(2)} {d(2)}", f"06 {d(2)} {d(2)} {d(2)} {d(2)}",
        f"+91 9{d(4)} {d(5)}", f"+61 2 {d(4)} {d(4)}", f"0044 20 {d(4)} {d(4)}", f"+31 6 {d(8)}",
        f"+1 ({nz()}{d(2)}) {nz()}{d(2)}-{d(4)}", f"+1{nz()}{d(2)}{nz()}{d(2)}{d(4)}", f"+44 (0)20 {d(4)} {d(4)}",
        f"+353 87 {d(3)} {d(4)}", f"+34 6{d(2)} {d(3)} {d(3)}", f"+81 3-{d(4)}-{d(4)}",
    ])


def phone_with_word(rng: random.Random) -> str:
    digits = str(rng.randint(2, 9)) + "".join(rng.choice(string.digits) for _ in range(9))
    return rng.choice(["call me on ", "mobile: ", "tel ", "text me at ", "WhatsApp "]) + digits


def api_key(rng: random.Random) -> str:
    pick = lambda alphabet, n: "".join(rng.choice(alphabet) for _ in range(n))  # noqa: E731
    an = string.ascii_letters + string.digits
    b64u = an + "-_"
    return rng.choice([
        "AKIA" + pick(string.ascii_uppercase + string.digits, 16),
        "ghp_" + pick(an, 36),
        "github_pat_" + pick(an + "_", 82),
        "sk-proj-" + pick(b64u, 48),
        "sk-" + pick(an, 48),
        "sk-ant-api03-" + pick(b64u, 60),
        "sk_live_" + pick(an, 24),
        "xoxb-" + pick(string.digits, 12) + "-" + pick(an, 24),
        "AIza" + pick(b64u, 35),
        "hf_" + pick(string.ascii_letters, 34),
        "glpat-" + pick(b64u, 20),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOi" + pick(b64u, 20) + "." + pick(b64u, 43),
        f'API_KEY="{pick(an, 32)}"',
        f"client_secret: {pick(an, 40)}",
        f"Authorization: Bearer {pick(an, 40)}",
        f"password={pick(string.ascii_lowercase, 8)}{pick(string.digits, 4)}{pick(string.ascii_uppercase, 6)}",
    ])


def private_key(rng: random.Random) -> str:
    kind = rng.choice(["RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED ", "DSA "])
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.randint(90, 400)))).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{lines}\n-----END {kind}PRIVATE KEY-----"


def us_ssn(rng: random.Random, valid: bool = True) -> str:
    if valid:
        area = rng.choice([rng.randint(1, 665), rng.randint(667, 899)])
        group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    else:
        area, group, serial = rng.choice([(0, rng.randint(1, 99), rng.randint(1, 9999)), (666, 12, 3456),
                                           (rng.randint(900, 999), rng.randint(1, 99), rng.randint(1, 9999)),
                                           (123, 0, 4567), (123, 45, 0)])
    sep = rng.choice(["-", "-", " "])
    return f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"


def uk_nino(rng: random.Random) -> str:
    first = "ABCEGHJKLMNOPRSTWXYZ"
    second = "ABCEGHJKLMNPRSTWXYZ"
    while True:
        prefix = rng.choice(first) + rng.choice(second)
        if prefix not in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
            break
    digits = "".join(rng.choice(string.digits) for _ in range(6))
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{prefix}{digits}{suffix}"
    return f"{prefix} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"


MAKERS = {
    "email": email, "phone": lambda r: phone_with_word(r) if r.random() < 0.15 else phone(r), "card": card,
    "iban": iban, "api_key": api_key, "private_key": private_key, "us_ssn": us_ssn, "uk_nino": uk_nino,
}
LABELS = {"email": "email", "phone": "phone", "card": "card number", "iban": "IBAN", "api_key": "key",
          "private_key": "key", "us_ssn": "SSN", "uk_nino": "NI number"}


def positives(per_type: int = 500, seed: int = 0) -> list[tuple[str, str, str]]:
    """(text, type, value) with ``value`` embedded once in ``text``."""
    rng = random.Random(seed)
    out = []
    for kind, make in MAKERS.items():
        for _ in range(per_type):
            value = make(rng)
            template = rng.choice(CONTEXTS)
            out.append((template.format(x=value, label=LABELS[kind]), kind, value))
    return out


def lookalikes(n: int = 1000, seed: int = 1) -> list[str]:
    """PII-free strings that share digits, separators or shapes with PII."""
    rng = random.Random(seed)
    d = lambda k: "".join(rng.choice(string.digits) for _ in range(k))  # noqa: E731
    hexs = lambda k: "".join(rng.choice("0123456789abcdef") for _ in range(k))  # noqa: E731

    def ean13() -> str:
        body = rng.choice("0123456789") + d(11)
        total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
        return body + str((10 - total % 10) % 10)

    makers = [
        lambda: f"Order #{d(8)} has shipped.",
        lambda: f"Your order ORD-{rng.randint(2019, 2025)}-{d(6)} is confirmed.",
        lambda: f"Invoice INV-{d(8)} is due on {rng.randint(2020, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}.",
        lambda: f"Meeting on {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(2020, 2026)} at {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}.",
        lambda: f"Released on {rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(2020, 2026)}",
        lambda: f"Upgrade to v{rng.randint(0, 20)}.{rng.randint(0, 30)}.{rng.randint(0, 99)} (build {rng.randint(2020, 2026)}{d(4)}.{rng.randint(1, 9)})",
        lambda: f"pip install numpy=={rng.randint(1, 2)}.{rng.randint(0, 30)}.{rng.randint(0, 9)} torch=={rng.randint(1, 2)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}",
        lambda: f"Server at {rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}:{rng.randint(1024, 65535)} is up",
        lambda: f"Test card {card(rng, valid=False)} was declined (invalid number).",
        lambda: f"Transfer to {iban(rng, valid=False)} failed the checksum.",
        lambda: f"SSN field rejected {us_ssn(rng, valid=False)} as invalid.",
        lambda: f"ISBN 978-{rng.randint(0, 9)}-{d(2)}-{d(6)}-{rng.randint(0, 9)}",
        lambda: f"EAN {ean13()} scanned at till {rng.randint(1, 20)}",
        lambda: f"Total: ${rng.randint(1, 999)},{d(3)},{d(3)}.{d(2)}",
        lambda: f"Elapsed {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{d(3)}",
        lambda: f"commit {hexs(40)} fixes #{rng.randint(1, 9999)}",
        lambda: f"request id {hexs(8)}-{hexs(4)}-{hexs(4)}-{hexs(4)}-{hexs(12)}",
        lambda: f"x = {d(5)} + {d(5)} * {d(3)}",
        lambda: f"The population grew from {rng.randint(1, 9)},{d(3)},{d(3)} to {rng.randint(1, 9)},{d(3)},{d(3)}.",
        lambda: f"Tracking number 1Z{d(3)}AA1{d(10)}",
        lambda: f"PO Box {d(4)}, zip {d(5)}, room {d(4)}",
        lambda: f"Ping @{rng.choice(FIRST)} about ticket #{d(5)}",
        lambda: f"Open icon@{rng.randint(2, 3)}x.png and logo@2x.jpg",
        lambda: f"ssh {rng.choice(FIRST)}@localhost -p {rng.randint(1024, 9999)}",
        lambda: "api_key = os.environ['API_KEY']  # never hard-code it",
        lambda: f"token = tokenizer(text)[{rng.randint(0, 9)}]; password = getpass()",
        lambda: f"AB {d(2)} {d(2)} {d(2)} is not a full NI number",
        lambda: f"Lat {rng.uniform(-90, 90):.6f}, lon {rng.uniform(-180, 180):.6f}",
        lambda: f"Serial {rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}{d(6)} firmware {rng.randint(1, 9)}.{rng.randint(0, 9)}",
        lambda: f"Call of Duty {rng.randint(2, 4)} sold {rng.randint(10, 30)} million copies in {rng.randint(2005, 2012)}",
        lambda: f"Step {rng.randint(1, 9)}: multiply {d(4)} by {d(3)} to get the answer",
        lambda: f"Room temperature {rng.randint(15, 30)} C, pressure {rng.randint(990, 1030)} hPa, {d(3)} ppm CO2",
    ]
    return [rng.choice(makers)() for _ in range(n)]
