// Signed URLs and cookies from @aws-sdk/cloudfront-signer for the committed test keys.
// The JS signer percent-encodes path segments and orders custom-policy
// conditions DateLessThan, DateGreaterThan, IpAddress (botocore: DateLessThan,
// IpAddress, DateGreaterThan).
const fs = require("fs");
const { getSignedUrl, getSignedCookies } = require("@aws-sdk/cloudfront-signer");

const keysDir = process.argv[2];
const KEY_ID = "K2JCJMDEHXQW5F";
const EXPIRES = 1893456000;
const NOT_BEFORE = 1767225600;
const IP = "203.0.113.0/24";
const WILDCARD = "https://d111111abcdef8.cloudfront.net/private/2026/11/28/m1/*";
const URLS = [
  "https://d111111abcdef8.cloudfront.net/private/2026/11/28/m1/display.jpg",
  "https://d111111abcdef8.cloudfront.net/private/photo.jpg?w=320&fmt=webp",
  "https://media.shutter.example/private/caf%C3%A9/ph%20oto.jpg",
  "https://media.shutter.example/private/café/naïve ☃.jpg",
  "http://127.0.0.1:8085/private/a/b/c.jpg",
];
const iso = (epoch) => new Date(epoch * 1000).toISOString();
const out = [];
for (const key of ["rsa", "ecdsa"]) {
  const privateKey = fs.readFileSync(`${keysDir}/${key}_private.pem`, "utf8");
  for (const hash of ["SHA1", "SHA256"]) {
    const base = { keyPairId: KEY_ID, privateKey, algorithm: hash };
    for (const url of URLS) {
      out.push({ key, hash, kind: "canned", url, expires: EXPIRES,
        signed_url: getSignedUrl({ ...base, url, dateLessThan: iso(EXPIRES) }) });
      out.push({ key, hash, kind: "custom", url, expires: EXPIRES, not_before: NOT_BEFORE, ip: IP,
        signed_url: getSignedUrl({ ...base, url, dateLessThan: iso(EXPIRES), dateGreaterThan: iso(NOT_BEFORE), ipAddress: IP }) });
    }
    const url = WILDCARD.replace("*", "display.jpg");
    const policy = JSON.stringify({ Statement: [{ Resource: WILDCARD, Condition: { DateLessThan: { "AWS:EpochTime": EXPIRES } } }] });
    out.push({ key, hash, kind: "custom", url, resource: WILDCARD, expires: EXPIRES, policy,
      signed_url: getSignedUrl({ ...base, url, policy }) });
    out.push({ key, hash, kind: "cookies-canned", url: URLS[0], expires: EXPIRES,
      cookies: getSignedCookies({ ...base, url: URLS[0], dateLessThan: iso(EXPIRES) }) });
    out.push({ key, hash, kind: "cookies-custom", url: WILDCARD.replace("*", "thumb.jpg"), resource: WILDCARD, expires: EXPIRES, policy,
      cookies: getSignedCookies({ ...base, policy }) });
  }
}
console.log(JSON.stringify(out));
