"""Evidence an auditor accepts (see docs/architecture.md, "Evidence"): the journal's hash chain, the evidence
pack's format, Ed25519 signing keys, and the pack's offline verification. Pure logic over bytes and files:
no network, no API client, nothing from the engine, so ``srmctl verify`` loads none of them."""
