using System.Reflection;
using ApiPlatform.Gateway.Errors;

namespace ApiPlatform.UnitTests;

public sealed class ProblemCodesTests
{
    private static readonly IReadOnlyList<string> Codes = typeof(ProblemCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToList();

    public static TheoryData<string> AllCodes => [.. Codes];

    [Fact]
    public void Codes_are_distinct_snake_case()
    {
        Assert.True(Codes.Count >= 19);
        Assert.Equal(Codes.Count, Codes.Distinct().Count());
        Assert.All(Codes, code => Assert.Matches("^[a-z]+(_[a-z]+)*$", code));
    }

    [Theory]
    [MemberData(nameof(AllCodes))]
    public void Each_code_has_a_title(string code)
    {
        var title = ProblemCodes.TitleOf(code);

        Assert.False(string.IsNullOrWhiteSpace(title));
        Assert.EndsWith(".", title);
    }

    [Fact]
    public void Titles_are_distinct()
    {
        var titles = Codes.Select(ProblemCodes.TitleOf).ToList();

        Assert.Equal(titles.Count, titles.Distinct().Count());
    }

    [Fact]
    public void Unknown_code_gets_the_internal_error_title()
    {
        Assert.Equal(ProblemCodes.TitleOf(ProblemCodes.InternalServerError), ProblemCodes.TitleOf("no_such_code"));
    }

    [Theory]
    [MemberData(nameof(AllCodes))]
    public void Type_is_a_urn_of_the_code(string code)
    {
        Assert.Equal("urn:api-platform:problem:" + code, Problem.TypeOf(code));
        Assert.True(Uri.TryCreate(Problem.TypeOf(code), UriKind.Absolute, out var uri));
        Assert.Equal("urn", uri.Scheme);
    }

    [Fact]
    public void Problem_carries_type_and_title_of_its_code()
    {
        var errors = new Dictionary<string, string[]> { ["email"] = ["is required"] };

        var problem = Problem.Create(400, ProblemCodes.InvalidRequest, "Bad.", "req_1", errors);

        Assert.Equal(Problem.TypeOf(ProblemCodes.InvalidRequest), problem.Type);
        Assert.Equal(ProblemCodes.TitleOf(ProblemCodes.InvalidRequest), problem.Title);
        Assert.Equal(400, problem.Status);
        Assert.Equal("Bad.", problem.Detail);
        Assert.Equal(ProblemCodes.InvalidRequest, problem.Code);
        Assert.Equal("req_1", problem.RequestId);
        Assert.Same(errors, problem.Errors);
    }
}
