"""Neon-looking identifiers: ``adjective-noun-12345678``, ``br-...``, ``ep-...``, ``snap-...``."""

import random

ADJECTIVES = [
    "aged",
    "autumn",
    "billowing",
    "bitter",
    "black",
    "blue",
    "bold",
    "broad",
    "broken",
    "calm",
    "cold",
    "cool",
    "crimson",
    "curly",
    "damp",
    "dark",
    "dawn",
    "delicate",
    "divine",
    "dry",
    "empty",
    "falling",
    "fancy",
    "flat",
    "floral",
    "fragrant",
    "frosty",
    "gentle",
    "green",
    "hidden",
    "holy",
    "icy",
    "jolly",
    "late",
    "lingering",
    "little",
    "lively",
    "long",
    "lucky",
    "misty",
    "morning",
    "muddy",
    "mute",
    "nameless",
    "noisy",
    "odd",
    "old",
    "orange",
    "patient",
    "plain",
    "polished",
    "proud",
    "purple",
    "quiet",
    "rapid",
    "raspy",
    "red",
    "restless",
    "rough",
    "round",
    "royal",
    "shiny",
    "shrill",
    "shy",
    "silent",
    "small",
    "snowy",
    "soft",
    "solitary",
    "sparkling",
    "spring",
    "square",
    "steep",
    "still",
    "summer",
    "super",
    "sweet",
    "throbbing",
    "tight",
    "tiny",
    "twilight",
    "wandering",
    "weathered",
    "white",
    "wild",
    "winter",
    "wispy",
    "withered",
    "yellow",
    "young",
]
NOUNS = [
    "art",
    "band",
    "bar",
    "base",
    "bird",
    "block",
    "boat",
    "bonus",
    "bread",
    "breeze",
    "brook",
    "bush",
    "butterfly",
    "cake",
    "cell",
    "cherry",
    "cloud",
    "credit",
    "darkness",
    "dawn",
    "dew",
    "disk",
    "dream",
    "dust",
    "feather",
    "field",
    "fire",
    "firefly",
    "flower",
    "fog",
    "forest",
    "frog",
    "frost",
    "glade",
    "glitter",
    "grass",
    "hall",
    "hat",
    "haze",
    "heart",
    "hill",
    "king",
    "lab",
    "lake",
    "leaf",
    "limit",
    "math",
    "meadow",
    "mode",
    "moon",
    "morning",
    "mountain",
    "mouse",
    "mud",
    "night",
    "paper",
    "pine",
    "poetry",
    "pond",
    "queen",
    "rain",
    "recipe",
    "resonance",
    "rice",
    "river",
    "salad",
    "scene",
    "sea",
    "shadow",
    "shape",
    "silence",
    "sky",
    "smoke",
    "snow",
    "snowflake",
    "sound",
    "star",
    "sun",
    "sunset",
    "surf",
    "term",
    "thunder",
    "tooth",
    "tree",
    "truth",
    "union",
    "unit",
    "violet",
    "voice",
    "water",
    "waterfall",
    "wave",
    "wildflower",
    "wind",
    "wood",
]


NUMBERS = 10**8
# A prefix and three draws make an id; as one int (its "code") a million projects' ids take a
# fraction of the memory their strings would, and the seed keeps every one to refuse repeats.
PREFIXES = ("", "br-", "ep-", "snap-")
_PREFIX_SHIFT = 40  # above every (adjective, noun, number): 90 * 95 * 10**8 < 2**40
TAGS = {prefix: n << _PREFIX_SHIFT for n, prefix in enumerate(PREFIXES)}
_BODY = (1 << _PREFIX_SHIFT) - 1
_ADJECTIVES, _NOUNS = len(ADJECTIVES), len(NOUNS)
_A_BITS, _N_BITS, _X_BITS = _ADJECTIVES.bit_length(), _NOUNS.bit_length(), NUMBERS.bit_length()
# "adjective-noun-" for every pair, so that spelling an id is one lookup and one format.
_PAIRS = [f"{a}-{n}-" for a in ADJECTIVES for n in NOUNS]
_SPAN = _ADJECTIVES * _NOUNS * NUMBERS  # how many ids one prefix has


def draw(getrandbits, tag: int = 0) -> int:
    """The code of a new id with the prefix of ``tag`` (``TAGS[prefix]``):
    ``rng.choice(ADJECTIVES)``, ``rng.choice(NOUNS)`` and ``rng.randrange(10**8)``, drawn word
    for word as random.Random's methods draw them (``_randbelow``: the bits of n, again while
    too large), without their Python layers: the seed draws millions."""
    adjective = getrandbits(_A_BITS)
    while adjective >= _ADJECTIVES:
        adjective = getrandbits(_A_BITS)
    noun = getrandbits(_N_BITS)
    while noun >= _NOUNS:
        noun = getrandbits(_N_BITS)
    number = getrandbits(_X_BITS)
    while number >= NUMBERS:
        number = getrandbits(_X_BITS)
    return tag | (adjective * _NOUNS + noun) * NUMBERS + number


def new_code(getrandbits, tag: int, used: set[int]) -> int:
    """``draw``, again while the code is in ``used``; then it is."""
    given = len(used)
    code = draw(getrandbits, tag)
    used.add(code)
    while len(used) == given:  # one hash lookup a draw: the seed makes five million
        code = draw(getrandbits, tag)
        used.add(code)
    return code


def from_digest(digest: bytes, tag: int) -> int:
    """The code of an id taken from a hash rather than drawn: the same for the same digest, and
    nothing to register in a store's ``used`` (what the seed derives from a project's id)."""
    return tag | int.from_bytes(digest[:8], "big") % _SPAN


def text(code: int) -> str:
    """The id a code stands for: ``br-aged-salad-63768812``."""
    pair, number = divmod(code & _BODY, NUMBERS)
    # str() and a slice: eight digits in a third of the time "%08d" takes.
    return PREFIXES[code >> _PREFIX_SHIFT] + _PAIRS[pair] + str(NUMBERS + number)[1:]


def project_like(rng: random.Random) -> str:
    return text(draw(rng.getrandbits))
