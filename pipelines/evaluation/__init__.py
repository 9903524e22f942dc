"""The suite's own VOS evaluation: DAVIS 2016/2017 semi-supervised (equal to the official
davis2017-evaluation) and YouTube-VOS-style seen/unseen scores. Public API in pipelines.evaluate."""
