/**
 * Our reading of Twilio's request signature, checked against the official `twilio` package:
 * `getExpectedTwilioSignature` computes the same signature for the URLs a media stream upgrade is
 * signed for, and `validateRequest` and we agree on what is valid, port variants included (but
 * one: see below).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { twilioSignature, validTwilioSignature } from "@earshot/server";
import twilio from "twilio";

const TOKENS = ["12345", "0123456789abcdef0123456789abcdef", "ünïcødé-token"];
const URLS = [
  "wss://calls.example.com/v1/twilio/media-stream",
  "wss://calls.example.com:443/v1/twilio/media-stream",
  "wss://127.0.0.1:8787/v1/twilio/media-stream",
  "wss://calls.example.com/v1/twilio/media-stream?tenant=a b&x=1",
];

describe("X-Twilio-Signature, against the twilio package", () => {
  it("computes the signature twilio's getExpectedTwilioSignature does", () => {
    for (const token of TOKENS) {
      for (const url of URLS) {
        assert.equal(twilioSignature(token, url), twilio.getExpectedTwilioSignature(token, url, {}), `${token} ${url}`);
      }
    }
    const params = { CallSid: "CA1", Digits: "1234", AccountSid: "AC1" };
    assert.equal(
      twilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params),
      twilio.getExpectedTwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params),
    );
  });

  it("agrees with twilio's validateRequest on what is valid, with and without the default port", () => {
    const bare = "wss://calls.example.com/v1/twilio/media-stream";
    const withPort = "wss://calls.example.com:443/v1/twilio/media-stream";
    for (const token of TOKENS) {
      for (const [signedFor, checkedAt] of [
        [bare, bare],
        [bare, withPort],
        [withPort, withPort],
        ["wss://calls.example.com:8443/v1/twilio/media-stream", bare],
        [bare, "wss://calls.example.com/v1/twilio/other"],
        [bare, "wss://other.example.com/v1/twilio/media-stream"],
      ] as const) {
        const signature = twilio.getExpectedTwilioSignature(token, signedFor, {});
        assert.equal(
          validTwilioSignature(token, signature, checkedAt),
          twilio.validateRequest(token, signature, checkedAt, {}),
          `${signedFor} checked at ${checkedAt}`,
        );
      }
      // wss's default port is 443; twilio's library, written for https webhooks, adds :80 to any
      // other scheme, so it refuses this one. Twilio connects on 443: we accept it.
      assert.equal(validTwilioSignature(token, twilioSignature(token, withPort), bare), true);
      assert.equal(validTwilioSignature("wrong", twilioSignature(token, bare), bare), false);
      assert.equal(twilio.validateRequest("wrong", twilioSignature(token, bare), bare, {}), false);
    }
  });
});
