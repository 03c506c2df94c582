using System.Text.Json;
using ApiPlatform.Gateway.Json;

namespace ApiPlatform.Gateway.Errors;

/// <summary>Writes problem details responses.</summary>
public static class ProblemWriter
{
    public static Task WriteAsync(HttpContext context, int status, string code, string detail, IReadOnlyDictionary<string, string[]>? errors = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = Problem.ContentType;
        // Validators and caches must never treat an error as the representation of the resource.
        response.Headers.ETag = default;
        response.Headers.CacheControl = "no-store";
        var problem = Problem.Create(status, code, detail, RequestIds.Get(context), errors);
        return JsonSerializer.SerializeAsync(response.Body, problem, ApiJson.Options, context.RequestAborted);
    }

    public static Task WriteAsync(HttpContext context, ApiException error)
    {
        foreach (var (name, value) in error.Headers)
        {
            context.Response.Headers[name] = value;
        }

        return WriteAsync(context, error.Status, error.Code, error.Detail, error.Errors);
    }
}
