"""Hold the demo's name lists, email domains and the vocabularies contacts are drawn from."""

from __future__ import annotations

# Names per language of the contact's locale (ASCII, so email addresses can reuse them).
FIRST_FEMALE = {
    "en": (
        "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Susan", "Jessica", "Sarah",
        "Karen", "Emily", "Olivia", "Emma", "Sophie", "Grace", "Chloe", "Hannah", "Amelia",
        "Charlotte", "Megan", "Laura",
    ),
    "de": (
        "Anna", "Lena", "Julia", "Katharina", "Laura", "Sabine", "Petra", "Monika", "Ursula",
        "Claudia", "Lea", "Mia", "Hanna", "Sophie", "Marie",
    ),
    "fr": (
        "Camille", "Chloe", "Manon", "Lea", "Ines", "Sophie", "Nathalie", "Isabelle",
        "Sandrine", "Celine", "Julie", "Emma", "Louise", "Alice", "Claire",
    ),
}  # fmt: skip
FIRST_MALE = {
    "en": (
        "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
        "Daniel", "Matthew", "Andrew", "Oliver", "Harry", "Jack", "George", "Noah", "Liam",
        "Ethan", "Ryan",
    ),
    "de": (
        "Lukas", "Leon", "Felix", "Jonas", "Paul", "Thomas", "Michael", "Andreas", "Stefan",
        "Peter", "Klaus", "Jan", "Tobias", "Max", "Florian",
    ),
    "fr": (
        "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Nicolas", "Julien", "Pierre",
        "Philippe", "Antoine", "Thomas", "Mathieu", "Olivier", "Jules", "Paul",
    ),
}  # fmt: skip
LAST = {
    "en": (
        "Smith", "Jones", "Johnson", "Williams", "Brown", "Taylor", "Davies", "Wilson", "Evans",
        "Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson", "Thomas", "Jackson",
        "White", "Harris", "Martin", "Thompson", "Walker", "Roberts", "Clark", "Lewis", "Lee",
        "Young", "Hall", "Wright", "King", "Scott", "Green", "Baker", "Adams", "Nguyen", "Chen",
    ),
    "de": (
        "Mueller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz",
        "Zimmermann", "Braun", "Hartmann", "Krueger",
    ),
    "fr": (
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David",
        "Bertrand", "Roux", "Vincent", "Fournier",
    ),
}  # fmt: skip

# Reserved example domains (RFC 2606), so no demo address can ever reach a real mailbox.
EMAIL_DOMAINS = (
    "example.com", "example.net", "example.org", "mail.example", "inbox.example",
    "post.example", "webmail.example", "home.example",
)  # fmt: skip
EMAIL_DOMAIN_WEIGHTS = (0.25, 0.15, 0.12, 0.14, 0.12, 0.08, 0.08, 0.06)
# Whole domains on the suppression list, with the reason; a few contacts use them.
SUPPRESSED_DOMAINS = (("spamtrap.example", "spam_trap"), ("competitor.example", "competitor"))

GENDERS = ("female", "male", "non_binary", "unknown")
GENDER_WEIGHTS = (0.49, 0.47, 0.015, 0.025)
EDUCATION_LEVELS = ("primary", "secondary", "vocational", "bachelor", "master", "doctorate")
EDUCATION_WEIGHTS = (0.04, 0.33, 0.18, 0.29, 0.13, 0.03)
# List-generator data sources (CRM reference §5).
SOURCES = (
    "web_visit", "questionnaire", "survey", "flyer", "toll_free", "customer_list",
    "third_party_list",
)  # fmt: skip
SOURCE_WEIGHTS = (0.34, 0.12, 0.10, 0.08, 0.06, 0.18, 0.12)
