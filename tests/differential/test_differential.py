#!/usr/bin/env python3
"""Self-test of the differential harness's comparison (run by scripts/differential.sh first):
what is normalised away, and that a real difference is reported."""
import copy
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from differential import compare, expected_for  # noqa: E402
from mock_upstream import Source, generate  # noqa: E402


def request(**over):
    entry = {"source": "api", "operationId": "op", "method": "POST", "path": "/things/1",
             "query": [["a", "1"], ["b", "2"]],
             "headers": {"authorization": "Bearer t", "content-type": "application/json",
                         "user-agent": "capgen-runtime/0.1.0", "accept": "*/*", "host": "x"},
             "body": {"name": "n"}}
    entry.update(over)
    return entry


def side(requests, success=True, outputs=None, ran=True):
    return {"requests": requests, "success": success, "outputs": outputs or {"id": 1}, "ran": ran,
            "log": "boom"}


class Compare(unittest.TestCase):
    def test_same_run_has_no_difference(self):
        self.assertEqual(compare(side([request()]), side([request()])), [])

    def test_transport_headers_query_order_and_charset_are_normalised(self):
        other = request(query=[["b", "2"], ["a", "1"]],
                        headers={"authorization": "Bearer t", "host": "y", "user-agent": "undici",
                                 "accept": "application/json", "accept-encoding": "gzip",
                                 "content-type": "application/json; charset=utf-8"})
        self.assertEqual(compare(side([request()]), side([other])), [])

    def test_each_workflow_controlled_part_is_compared(self):
        for key, value, where in [
            ("body", {"name": "m"}, "requests[0].body.name"),
            ("path", "/things/2", "requests[0].path"),
            ("method", "PUT", "requests[0].method"),
            ("query", [["a", "1"]], "requests[0].query"),
            ("headers", {"authorization": "Bearer u", "content-type": "application/json"},
             "requests[0].headers.authorization"),
        ]:
            found = compare(side([request()]), side([request(**{key: value})]))
            self.assertEqual([d["where"] for d in found], [where], key)

    def test_step_sequence_success_and_outputs(self):
        extra = request(operationId="other")
        self.assertEqual([d["where"] for d in compare(side([request()]), side([request(), extra]))],
                         ["steps"])
        self.assertEqual([d["where"] for d in compare(side([]), side([], success=False))],
                         ["success"])
        self.assertEqual([d["where"] for d in compare(side([]), side([], outputs={"id": 2}))],
                         ["outputs.id"])
        self.assertEqual([d["where"] for d in compare(side([]), side([], ran=False))],
                         ["redocly-did-not-run"])
        missing = dict(side([], success=False), generated=False)
        self.assertEqual([d["where"] for d in compare(missing, side([], success=False))],
                         ["capgen-not-generated"])

    def test_expected_differences_match_by_case_and_prefix(self):
        listed = [{"case": "c", "where": "requests[0].headers", "reason": "r"}]
        self.assertIsNotNone(expected_for(listed, "c", {"where": "requests[0].headers.x"}))
        self.assertIsNone(expected_for(listed, "d", {"where": "requests[0].headers.x"}))
        self.assertIsNone(expected_for(listed, "c", {"where": "outputs"}))


class Mock(unittest.TestCase):
    def test_values_generated_from_schemas(self):
        doc = {"components": {"schemas": {"T": {"type": "object", "properties": {
            "id": {"type": "string", "format": "uuid"}, "n": {"type": "integer"},
            "s": {"type": "string", "enum": ["on", "off"]}, "l": {"type": "array", "items": {"type": "boolean"}}}}}}}
        self.assertEqual(generate(doc, {"$ref": "#/components/schemas/T"}),
                         {"id": "00000000-0000-4000-8000-000000000001", "n": 1, "s": "on", "l": [True]})

    def test_operations_matched_below_the_server_path(self):
        here = os.path.dirname(os.path.abspath(__file__))
        source = Source("BnplApi", os.path.join(here, "..", "corpus", "arazzo-oai-examples",
                                                "bnpl-openapi.yaml"))
        path = source.operation_path("/bnpl/v1/products")
        template, op = source.find("POST", path)
        self.assertEqual((path, op["operationId"]), ("/products", "findEligibleProducts"))


if __name__ == "__main__":
    unittest.main()
