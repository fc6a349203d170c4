"""Loss studies: how strong each HL form is (strength.py); arms, statistics and tables live in
hl_detect/study.py until the layout step moves them here."""
