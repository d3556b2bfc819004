"""The screening tokenizer: dataset clauses read as SPARQL reads them, USING clauses written where they go."""

from __future__ import annotations

import pytest

from fmar.sparql.lexer import Refused, dataset_clause, head, screen, tokens, with_using


def test_from_clauses_with_prefixes_and_base() -> None:
    query = """BASE <http://example.org/base/>
    PREFIX ex: <http://example.org/g/>
    PREFIX : <http://example.org/default#>
    SELECT * FROM ex:one FROM <relative> FROM NAMED :two FROM NAMED <http://other.example/three>
    WHERE { ?s ?p "FROM <http://not.a.graph/>" } # FROM <http://nor.this/>"""
    screen(query)
    clause = dataset_clause(head(query))
    assert clause.default == ("http://example.org/g/one", "http://example.org/base/relative")
    assert clause.named == ("http://example.org/default#two", "http://other.example/three")


def test_no_from_clause() -> None:
    assert not dataset_clause(head("SELECT * WHERE { ?s ?p ?o }")).given


def test_using_goes_before_each_top_level_where() -> None:
    update = """PREFIX ex: <http://example.org/>
    DELETE { ?s ex:p ?o } INSERT { ?s ex:q ?o } WHERE { ?s ex:p ?o { SELECT ?s WHERE { ?s ?x ?y } } } ;
    DELETE WHERE { ?a ex:gone ?b } ;
    INSERT { ?s ex:r 1 } WHERE { ?s ex:q ?o }"""
    rewritten = with_using(update, tokens(update), ["http://example.org/d"], ["http://example.org/n"])
    assert rewritten.count("USING <http://example.org/d> USING NAMED <http://example.org/n> WHERE") == 2
    assert "SELECT ?s WHERE" in rewritten and "DELETE WHERE" in rewritten


def test_using_with_its_own_dataset_is_a_conflict() -> None:
    update = "INSERT { ?s ?p ?o } USING <urn:g> WHERE { ?s ?p ?o }"
    with pytest.raises(Refused) as refused:
        with_using(update, tokens(update), ["urn:h"], [])
    assert not refused.value.forbidden
    assert with_using(update, tokens(update), [], []) == update


@pytest.mark.parametrize("text", ["ASK { SERVICE <x> {} }", "ASK{service<x>{}}", "ASK { SERVICESILENT<x> {} }",
                                  "LOAD <http://x>", "ASK { #\rSERVICE <x> {} }"])
def test_network_keywords_are_refused(text: str) -> None:
    with pytest.raises(Refused) as refused:
        screen(text)
    assert refused.value.forbidden


@pytest.mark.parametrize("text", ["ASK { ?service ?p ?o }", "ASK { <urn:SERVICE> ?p 'LOAD' }", "ASK { ex:load ?p ?o }",
                                  "ASK { ?s ?p ?o } # SERVICE <x>\n", 'ASK { ?s ?p """SERVICE\n<x>""" }'])
def test_the_same_words_as_names_strings_iris_or_comments_pass(text: str) -> None:
    screen(text)
