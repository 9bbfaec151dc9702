-- A reply to a relayed message is found by the chat and the message id it was delivered as.
CREATE INDEX outbox_delivered ON outbox (recipient, external_message_id) WHERE external_message_id IS NOT NULL;
