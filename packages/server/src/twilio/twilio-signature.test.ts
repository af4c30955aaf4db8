import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { signedUrl, twilioSignature, validTwilioSignature } from "./twilio-signature.js";

describe("twilioSignature", () => {
  it("matches Twilio's published example (URL, then POST parameters sorted by name)", () => {
    // From Twilio's signature-validation snippet for twilio-node 3.x (security/signature_validation).
    const params = {
      CallSid: "CA1234567890ABCDE",
      Caller: "+14158675310",
      Digits: "1234",
      From: "+14158675310",
      To: "+18005551212",
    };
    assert.equal(
      twilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params),
      "GvWf1cFY/Q7PnoempGyD5oXAezc=",
    );
  });

  it("signs the wss URL of the upgrade: Host header and path", () => {
    const url = signedUrl("calls.example.com", "/v1/twilio/media-stream");
    assert.equal(url, "wss://calls.example.com/v1/twilio/media-stream");
    const signature = twilioSignature("token", url);
    assert.ok(validTwilioSignature("token", signature, url));
    assert.ok(!validTwilioSignature("other", signature, url));
    assert.ok(!validTwilioSignature("token", signature, `${url}x`));
    assert.ok(!validTwilioSignature("token", undefined, url));
    assert.ok(!validTwilioSignature("token", "", url));
    assert.ok(!validTwilioSignature("token", "x".repeat(1000), url));
  });

  it("accepts the URL without its port or with the default one, as twilio's validateRequest does", () => {
    const bare = "wss://calls.example.com/v1/twilio/media-stream";
    const withPort = "wss://calls.example.com:443/v1/twilio/media-stream";
    assert.notEqual(twilioSignature("token", withPort), twilioSignature("token", bare), "the URL is signed as given");
    assert.ok(validTwilioSignature("token", twilioSignature("token", withPort), bare));
    assert.ok(validTwilioSignature("token", twilioSignature("token", bare), withPort));
    assert.ok(!validTwilioSignature("token", twilioSignature("token", bare), "wss://calls.example.com/v1/other"));
  });
});
