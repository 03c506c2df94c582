using ApiPlatform.Gateway.Endpoints;
using ApiPlatform.Gateway.Errors;
using Microsoft.AspNetCore.Http;

namespace ApiPlatform.UnitTests;

public sealed class PagingTests
{
    private static HttpRequest Request(string query)
    {
        var context = new DefaultHttpContext();
        context.Request.QueryString = new QueryString(query);
        return context.Request;
    }

    [Theory]
    [InlineData("")]
    [InlineData("?")]
    [InlineData("?sort=name")]
    public void Defaults_are_page_1_of_20(string query)
    {
        var paging = Paging.From(Request(query));

        Assert.Equal(new Paging(1, 20), paging);
        Assert.Equal(0, paging.Offset);
    }

    [Theory]
    [InlineData("?page=3&per_page=50", 3, 50, 100)]
    [InlineData("?per_page=1", 1, 1, 0)]
    [InlineData("?page=2", 2, 20, 20)]
    [InlineData("?per_page=100", 1, 100, 0)]
    [InlineData("?page=007", 7, 20, 120)]
    [InlineData("?page=1000000&per_page=100", 1_000_000, 100, 99_999_900)]
    public void Valid_values_are_read(string query, int page, int perPage, int offset)
    {
        var paging = Paging.From(Request(query));

        Assert.Equal(page, paging.Page);
        Assert.Equal(perPage, paging.PerPage);
        Assert.Equal(offset, paging.Offset);
    }

    [Theory]
    [InlineData("?page=0", "page")]
    [InlineData("?page=-1", "page")]
    [InlineData("?page=+1", "page")]
    [InlineData("?page=%201", "page")]
    [InlineData("?page=1.5", "page")]
    [InlineData("?page=abc", "page")]
    [InlineData("?page=", "page")]
    [InlineData("?page=1e3", "page")]
    [InlineData("?page=1000001", "page")]
    [InlineData("?page=99999999999999999999", "page")]
    [InlineData("?per_page=0", "per_page")]
    [InlineData("?per_page=101", "per_page")]
    [InlineData("?per_page=-20", "per_page")]
    [InlineData("?per_page=ten", "per_page")]
    [InlineData("?per_page=", "per_page")]
    public void Invalid_values_are_refused_naming_the_parameter(string query, string name)
    {
        var error = Assert.Throws<ApiException>(() => Paging.From(Request(query)));

        Assert.Equal(400, error.Status);
        Assert.Equal(ProblemCodes.InvalidRequest, error.Code);
        Assert.NotNull(error.Errors);
        Assert.Equal([name], error.Errors.Keys);
        Assert.Contains("integer", error.Errors[name][0]);
    }

    [Theory]
    [InlineData("?page=1&page=2", "page")]
    [InlineData("?page=1&page=1", "page")]
    [InlineData("?per_page=10&per_page=20", "per_page")]
    public void Repeated_parameters_are_refused(string query, string name)
    {
        var error = Assert.Throws<ApiException>(() => Paging.From(Request(query)));

        Assert.Equal(400, error.Status);
        Assert.Equal(["must be given once"], error.Errors![name]);
    }
}
