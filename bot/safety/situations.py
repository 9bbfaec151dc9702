"""What a safety report can be about: the 9 situations of the 2020 opinion on mandatory reporting
(《关于建立侵害未成年人案件强制报告制度的意见（试行）》, Art. 4), codes s1–s9, and the 4 situations in which left-behind
children must be reported (国发〔2016〕13号), codes l1–l4. The codes are stored with each report, so they never
change meaning; the labels are short enough for a button, the details say what the law says."""

from __future__ import annotations

from bot.i18n import N_

# In display order: the law's nine, then the left-behind four.
SITUATIONS: dict[str, str] = {
    "s1": N_("Injury to private parts"),
    "s2": N_("Girl under 14: sexual abuse, pregnancy"),
    "s3": N_("Girl 14+: pregnancy from sexual abuse"),
    "s4": N_("Injuries, malnutrition, suspected abuse"),
    "s5": N_("Self-harm, suicide, unnatural injury"),
    "s6": N_("Abandoned or long without care"),
    "s7": N_("Missing, trafficked or of unknown origin"),
    "s8": N_("Made to beg"),
    "s9": N_("Other serious harm, or in danger now"),
    "l1": N_("Living alone without a guardian, or missing"),
    "l2": N_("Guardian unable or unwilling to care"),
    "l3": N_("Suspected domestic violence"),
    "l4": N_("Suspected accidental injury or unlawful harm"),
}

SITUATION_DETAILS: dict[str, str] = {
    "s1": N_("The child's genitals or private parts are injured, or suspected to be injured, in an unusual way."),
    "s2": N_("A girl under 14 has suffered or is suspected to have suffered sexual abuse, or is pregnant or has "
             "had an abortion."),
    "s3": N_("A girl of 14 or older is pregnant or has had an abortion as a result of sexual abuse, or is "
             "suspected to be."),
    "s4": N_("The child has several injuries, is severely malnourished or not fully conscious, and has suffered or "
             "is suspected to have suffered domestic violence, bullying, abuse, beating or being drugged."),
    "s5": N_("The child is disabled or has died for an unnatural reason: suicide, self-harm, a work injury, "
             "poisoning, being drugged or beaten."),
    "s6": N_("The child has been abandoned, or has been left without anyone caring for them for a long time."),
    "s7": N_("The child is of unknown origin, missing, or has been trafficked or bought."),
    "s8": N_("The child is being made to beg by others."),
    "s9": N_("Any other serious harm to the child's body or mind, or the child is in danger of unlawful harm now."),
    "l1": N_("A left-behind child lives alone without a guardian, or has gone missing."),
    "l2": N_("The guardian cannot or will not look after the child."),
    "l3": N_("The child is suspected to suffer domestic violence."),
    "l4": N_("The child is suspected to have suffered an accidental injury or unlawful harm."),
}


def labels(codes, _) -> str:
    """The situations' labels in the reader's language, in the order given, separated as the language does."""
    return _(", ").join(_(SITUATIONS[code]) for code in codes if code in SITUATIONS)
