"""The ledgers (台账): Excel exports of a class, a school, a village or a township."""
