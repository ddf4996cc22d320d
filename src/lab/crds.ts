// The operator's CustomResourceDefinitions (deploy/crds) on a fresh control plane, ready to serve.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { Manifest } from "../api/kube.js";
import type { KubeClient } from "../kube/rest.js";
import { repoRoot } from "./processes.js";
import { sleep } from "./wait.js";

const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

interface CrdStatus {
  status?: { conditions?: { type: string; status: string }[] };
}

/** Creates every CustomResourceDefinition in deploy/crds and waits until each is Established. */
export async function applyCrds(client: KubeClient, deadline: number): Promise<void> {
  const crdDir = join(repoRoot(), "deploy", "crds");
  const files = (await readdir(crdDir)).filter((f) => f.endsWith(".yaml")).sort();
  const names: string[] = [];
  for (const file of files) {
    // A plain parse sent as JSON: every key (`default`, `x-kubernetes-validations`) reaches the server as written.
    for (const doc of parseAllDocuments(await readFile(join(crdDir, file), "utf8"))) {
      const obj = doc.toJS() as Manifest | null;
      if (obj?.kind !== "CustomResourceDefinition") continue;
      try {
        await client.request("POST", CRDS, { body: obj });
      } catch (err) {
        throw new Error(
          `the API server rejected the CRD in deploy/crds/${file}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      names.push(obj.metadata.name);
    }
  }
  for (const name of names) await waitEstablished(client, name, deadline);
}

async function waitEstablished(client: KubeClient, name: string, deadline: number): Promise<void> {
  for (;;) {
    const crd = await client.request<CrdStatus>("GET", `${CRDS}/${name}`);
    const c = crd.status?.conditions ?? [];
    if (c.some((x) => x.type === "Established" && x.status === "True")) return;
    if (Date.now() > deadline)
      throw new Error(`CRD ${name} not Established in time; conditions: ${JSON.stringify(c)}`);
    await sleep(100);
  }
}
