using System.Net;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>Health probes and the OpenAPI document.</summary>
public abstract class OperationsTests(ApiServer server) : ApiTestBase(server)
{
    [Fact]
    public async Task Health_and_readiness_need_no_credential()
    {
        var live = (await Client.GetAsync("/health")).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("ok", (string?)live.Json["status"]);

        var ready = (await Client.GetAsync("/health/ready")).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("ok", (string?)ready.Json["status"]);
        Assert.Equal("ok", (string?)ready.Json["checks"]!["silo"]!["status"]);
        Assert.Equal("ok", (string?)ready.Json["checks"]!["storage"]!["status"]);
    }

    [Fact]
    public async Task The_openapi_document_describes_every_endpoint_with_its_errors()
    {
        var doc = (await Client.GetAsync("/swagger/v1/swagger.json")).AssertStatus(HttpStatusCode.OK).Json;
        var paths = doc["paths"]!.AsObject();
        var expected = new Dictionary<string, string[]>
        {
            ["/v1/auth/register"] = ["post"],
            ["/v1/auth/login"] = ["post"],
            ["/v1/auth/refresh"] = ["post"],
            ["/v1/auth/logout"] = ["post"],
            ["/v1/users/me"] = ["get", "patch"],
            ["/v1/api-keys"] = ["get", "post"],
            ["/v1/api-keys/{id}"] = ["get", "delete"],
            ["/v1/api-keys/{id}/roll"] = ["post"],
        };
        foreach (var (path, methods) in expected)
        {
            Assert.True(paths.ContainsKey(path), $"OpenAPI lacks {path}");
            foreach (var method in methods)
            {
                var operation = paths[path]![method];
                Assert.True(operation is not null, $"OpenAPI lacks {method} {path}");
                var responses = operation!["responses"]!.AsObject();
                Assert.Contains(responses, r => r.Key.StartsWith('2'));
                Assert.Contains(responses, r => r.Key.StartsWith('4') && r.Value!["content"]?["application/problem+json"] is not null);
            }
        }

        Assert.NotNull(doc["components"]!["schemas"]!["Problem"]);
        Assert.NotNull(doc["components"]!["securitySchemes"]!["apiKey"]);
    }

    [Fact]
    public async Task Swagger_ui_is_served()
    {
        var page = (await Client.GetAsync("/swagger/index.html")).AssertStatus(HttpStatusCode.OK);
        Assert.Contains("swagger-ui", page.Body);
    }
}

[Collection(Servers.Embedded)]
public sealed class OperationsTestsOnEmbedded(EmbeddedServer server) : OperationsTests(server);

[Collection(Servers.Postgres)]
public sealed class OperationsTestsOnPostgres(PostgresServer server) : OperationsTests(server);
