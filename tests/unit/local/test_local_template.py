"""The local stack's intrinsic resolver: Ref, GetAtt, Sub, Join, If, Select, conditions, NoValue."""

import pytest

from local.template import Resolver, TemplateError, parameter_values, references

CFN = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "dev"},
        "Count": {"Type": "Number", "Default": 5},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a,b"},
    },
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
        "Both": {"Fn::And": [{"Condition": "NotProd"}, {"Fn::Equals": ["x", "x"]}]},
    },
}


@pytest.fixture
def resolver():
    resolver = Resolver(CFN, parameter_values(CFN, {"Stage": "local"}), "eu-west-1", "mystack")
    resolver.register("Queue", "http://q/url", Arn="arn:aws:sqs:eu-west-1:123456789012:q", QueueName="q")
    return resolver


def test_parameters_take_defaults_overrides_and_list_types():
    values = parameter_values(CFN, {"Stage": "local"})
    assert values == {"Stage": "local", "Count": "5", "Zones": ["a", "b"]}


def test_unknown_override_is_an_error():
    with pytest.raises(TemplateError, match="Nope"):
        parameter_values(CFN, {"Nope": "1"})


def test_ref_of_parameters_pseudo_parameters_and_resources(resolver):
    assert resolver.resolve({"Ref": "Stage"}) == "local"
    assert resolver.resolve({"Ref": "AWS::Region"}) == "eu-west-1"
    assert resolver.resolve({"Ref": "AWS::AccountId"}) == "123456789012"
    assert resolver.resolve({"Ref": "AWS::StackName"}) == "mystack"
    assert resolver.resolve({"Ref": "Queue"}) == "http://q/url"


def test_get_att_in_list_and_dotted_forms(resolver):
    assert resolver.resolve({"Fn::GetAtt": ["Queue", "QueueName"]}) == "q"
    assert resolver.resolve({"Fn::GetAtt": "Queue.Arn"}).endswith(":q")


def test_sub_with_refs_attributes_variables_and_escapes(resolver):
    text = "${AWS::Partition}:${Stage}/${Queue.QueueName}/${Extra}/${!Literal}"
    assert (
        resolver.resolve({"Fn::Sub": [text, {"Extra": {"Ref": "Stage"}}]}) == "aws:local/q/local/${Literal}"
    )


def test_join_select_split_and_nested_values(resolver):
    value = {
        "Env": {
            "A": {"Fn::Join": ["-", [{"Ref": "Stage"}, "x", {"Fn::Select": [1, {"Ref": "Zones"}]}]]},
            "B": [{"Fn::Select": ["0", {"Fn::Split": [",", "p,q"]}]}],
        }
    }
    assert resolver.resolve(value) == {"Env": {"A": "local-x-b", "B": ["p"]}}


def test_if_and_conditions_and_no_value(resolver):
    value = {
        "Mode": {"Fn::If": ["IsProd", "live", "sandbox"]},
        "Gone": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]},
        "List": ["keep", {"Fn::If": ["Both", {"Ref": "AWS::NoValue"}, "drop"]}],
    }
    assert resolver.resolve(value) == {"Mode": "sandbox", "List": ["keep"]}


def test_iam_condition_key_is_not_an_intrinsic(resolver):
    statement = {"Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert resolver.resolve(statement) == statement


def test_unknown_ref_or_attribute_is_a_clear_error(resolver):
    with pytest.raises(TemplateError, match="Missing"):
        resolver.resolve({"Ref": "Missing"})
    with pytest.raises(TemplateError, match=r"Queue\.Nope"):
        resolver.resolve({"Fn::GetAtt": ["Queue", "Nope"]})


def test_references_finds_dependencies_in_every_form():
    props = {
        "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
        "Name": {"Fn::Sub": "${Table}-${Bucket.Arn}-${AWS::Region}"},
        "Other": [{"Ref": "Param"}, {"Fn::Sub": ["${X}", {"X": {"Ref": "Topic"}}]}],
    }
    assert references(props) == {"Dlq", "Table", "Bucket", "Param", "X", "Topic"}
