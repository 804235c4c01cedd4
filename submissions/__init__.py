"""The submission service: how an image to analyze becomes a submission, and what happens to it.

`service.submit` is the one way in (API, Launchpad, registry watch) and `terms` decides what a
submission gets under its tier; `lifecycle` moves it through its states; `secrets` keeps its
sealed secret values while it may run; `organizations` and `registry_watch` hold the rules for
organizations and watched repositories. The rows are `appdb`'s; tiers, quota and money `billing`'s.
"""
