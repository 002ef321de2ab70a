"""Sources and what they hold: readers, passages, sentences, languages, dates, the starter corpus."""
