"""Keeping children in school (控辍保学): the school calendar (`schooldays`), the daily roll call and the family's
answer to an unexplained absence (`service`), and the suspected-dropout case with its ladder, persuasion attempts,
written report and ledgers (`dropouts`). Knows nothing of Telegram."""
