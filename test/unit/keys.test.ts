// Object keys, age order and the field paths diagnostics name: one spelling each, used by every step.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GROUP_ANNOTATION } from "../../src/api/names.js";
import { annotationField, Findings, refKey } from "../../src/core/diagnostics.js";
import { byAge, byKey, objectKey, splitObjectKey } from "../../src/core/keys.js";

describe("object keys", () => {
  it("objectKey and splitObjectKey are inverse for namespace/name", () => {
    assert.equal(objectKey("kao", "workers"), "kao/workers");
    assert.deepEqual(splitObjectKey("kao/workers"), { namespace: "kao", name: "workers" });
  });
  for (const text of ["kao", "kao/g/x", ""]) {
    it(`splitObjectKey refuses ${JSON.stringify(text)}: not two parts`, () => {
      assert.equal(splitObjectKey(text), undefined);
    });
  }
  it("refKey keys the object of a diagnostic; a missing namespace is empty", () => {
    assert.equal(refKey({ kind: "Service", namespace: "app", name: "web" }), "app/web");
    assert.equal(refKey({ kind: "Node", name: "n1" }), "/n1");
  });
});

describe("order", () => {
  const a = { key: "b/x", createdAt: "2024-01-01T00:00:00Z" };
  const b = { key: "a/y", createdAt: "2024-01-02T00:00:00Z" };
  const c = { key: "a/z", createdAt: "2024-01-01T00:00:00Z" };
  it("byAge: oldest first, then by key", () => {
    assert.deepEqual([b, a, c].sort(byAge), [c, a, b]);
  });
  it("byKey: code-unit order, equal keys tie", () => {
    assert.deepEqual([a, b, c].sort(byKey), [b, c, a]);
    assert.equal(byKey(a, { key: "b/x" }), 0);
  });
});

describe("diagnostic helpers", () => {
  it("annotationField spells the field path of an annotation from its name", () => {
    assert.equal(
      annotationField(GROUP_ANNOTATION),
      "metadata.annotations[keepalived-operator.redhat-cop.io/keepalivedgroup]",
    );
  });
  it("Findings keeps errors apart from warnings, in the order found, all about its object", () => {
    const findings = new Findings({ kind: "KeepalivedGroup", namespace: "kao", name: "g" });
    findings.warn("spec.image", "IgnoredField", "w1.");
    findings.error("spec", "NoInterface", "e1.");
    findings.error("spec.vrrp", "InvalidVrrp", "e2.");
    assert.deepEqual(
      findings.errors.map((d) => [d.reason, d.severity, d.object.name]),
      [
        ["NoInterface", "Error", "g"],
        ["InvalidVrrp", "Error", "g"],
      ],
    );
    assert.deepEqual(
      findings.warnings.map((d) => [d.reason, d.severity]),
      [["IgnoredField", "Warning"]],
    );
  });
});
