using ApiPlatform.Gateway.Errors;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>Query-string access with the API's rules.</summary>
public static class QueryParameters
{
    /// <summary>The parameter's value, or null when absent; 400 when it is given more than once.</summary>
    public static string? Single(HttpRequest request, string name)
    {
        var values = request.Query[name];
        return values.Count switch
        {
            0 => null,
            1 => values[0],
            _ => throw ApiException.Invalid(name, "must be given once"),
        };
    }
}
