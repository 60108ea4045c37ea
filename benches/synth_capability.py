#!/usr/bin/env python3
"""Writes a synthetic Naftiko capability with N consumed operations, one REST operation and one
MCP tool per operation, plus an Arazzo document with W workflows over them (for codegen
benchmarks).

    benches/synth_capability.py N W OUT_DIR    # writes OUT_DIR/capabilities/synth-N.yaml and OUT_DIR/arazzo/synth-N.yml
"""
import os
import sys


def main() -> None:
    n, workflows, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(f"{out}/capabilities", exist_ok=True)
    os.makedirs(f"{out}/arazzo", exist_ok=True)
    os.makedirs(f"{out}/openapi", exist_ok=True)
    cap = [
        "naftiko: 1.0.0-alpha2",
        "info:",
        f"  label: Synthetic capability with {n} operations",
        "  description: Generated for capgen benchmarks.",
        "binds:",
        "- namespace: env",
        "  keys:",
        "    SYNTH_TOKEN: SYNTH_TOKEN",
        "capability:",
        "  consumes:",
        "  - type: http",
        "    namespace: synth",
        "    baseUri: https://api.example.com/v1",
        "    authentication:",
        "      type: bearer",
        "      token: '{{env.SYNTH_TOKEN}}'",
        "    resources:",
    ]
    for i in range(n):
        cap += [
            f"    - name: items-{i}",
            f"      path: /items{i}/{{itemId}}",
            "      operations:",
            f"      - name: getitem{i}",
            "        method: GET",
            f"        description: Get item {i}",
            "        inputParameters:",
            "        - name: verbose",
            "          in: query",
            "          type: boolean",
            "        outputParameters:",
            "        - name: result",
            "          type: object",
            "          value: $.",
        ]
    cap += ["  exposes:", "  - type: rest", "    namespace: synth-rest", "    port: 8080", "    resources:"]
    for i in range(n):
        cap += [
            f"    - path: /v1/items{i}/{{itemid}}",
            f"      name: items-{i}",
            "      operations:",
            "      - method: GET",
            f"        name: getitem{i}",
            f"        call: synth.getitem{i}",
            "        outputParameters:",
            "        - type: object",
            "          properties:",
            "            id:",
            "              type: string",
            "              mapping: $.id",
        ]
    cap += ["  - type: mcp", "    namespace: synth-mcp", "    port: 9090", "    tools:"]
    for i in range(n):
        cap += [
            f"    - name: get-item-{i}",
            f"      description: Get item {i}",
            "      hints:",
            "        readOnly: true",
            f"      call: synth.getitem{i}",
        ]
    with open(f"{out}/capabilities/synth-{n}.yaml", "w") as f:
        f.write("\n".join(cap) + "\n")

    api = ["openapi: 3.1.0", "info:", "  title: Synthetic", "  version: 1.0.0", "servers:", "- url: https://api.example.com/v1", "paths:"]
    for i in range(n):
        api += [
            f"  /items{i}/{{itemId}}:",
            "    get:",
            f"      operationId: getItem{i}",
            "      parameters:",
            "      - {name: itemId, in: path, required: true, schema: {type: string}}",
            "      responses:",
            "        '200':",
            "          description: ok",
            "          content:",
            "            application/json:",
            "              schema: {$ref: '#/components/schemas/Item'}",
        ]
    api += ["components:", "  schemas:", "    Item:", "      type: object", "      required: [id]",
            "      properties:", "        id: {type: string}", "        status: {type: string, enum: [new, done]}"]
    with open(f"{out}/openapi/synth-{n}.yml", "w") as f:
        f.write("\n".join(api) + "\n")

    wf = ["arazzo: 1.0.1", "info:", "  title: Synthetic workflows", "  version: 1.0.0", "sourceDescriptions:",
          f"- name: synth", f"  url: ../openapi/synth-{n}.yml", "  type: openapi", "workflows:"]
    for w in range(workflows):
        a, b = w % n, (w + 1) % n
        wf += [
            f"- workflowId: wf-{w}",
            "  inputs:",
            "    type: object",
            "    required: [itemId]",
            "    properties:",
            "      itemId: {type: string}",
            "  steps:",
            "  - stepId: first",
            f"    operationId: getItem{a}",
            "    parameters:",
            "    - {name: itemId, in: path, value: $inputs.itemId}",
            "    successCriteria:",
            "    - condition: $statusCode == 200",
            "    outputs:",
            "      id: $response.body#/id",
            "  - stepId: second",
            f"    operationId: getItem{b}",
            "    parameters:",
            "    - {name: itemId, in: path, value: $steps.first.outputs.id}",
            "    successCriteria:",
            "    - condition: $statusCode == 200 && $response.body#/status == 'done'",
            "  outputs:",
            "    id: $steps.first.outputs.id",
        ]
    with open(f"{out}/arazzo/synth-{n}.yml", "w") as f:
        f.write("\n".join(wf) + "\n")


if __name__ == "__main__":
    main()
