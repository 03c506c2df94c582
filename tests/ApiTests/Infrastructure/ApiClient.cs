using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>A response read once: status, headers and the body as JSON (when it is JSON).</summary>
public sealed record ApiResponse(HttpStatusCode Status, HttpResponseHeaders Headers, HttpContentHeaders? ContentHeaders, string Body)
{
    public JsonNode Json => JsonNode.Parse(Body) ?? throw new InvalidOperationException("Empty body");

    public JsonNode Data => Json["data"]!;

    public string? Header(string name) =>
        Headers.TryGetValues(name, out var v) ? string.Join(",", v)
        : ContentHeaders is not null && ContentHeaders.TryGetValues(name, out var c) ? string.Join(",", c) : null;

    /// <summary>Asserts a problem-details answer with this status and code, and returns it.</summary>
    public JsonNode AssertProblem(HttpStatusCode status, string code)
    {
        Assert.True(Status == status, $"Expected {(int)status} {code}, got {(int)Status}: {Body}");
        Assert.StartsWith("application/problem+json", ContentHeaders?.ContentType?.ToString());
        var problem = Json;
        Assert.Equal(code, (string?)problem["code"]);
        Assert.Equal((int)status, (int?)problem["status"]);
        Assert.False(string.IsNullOrEmpty((string?)problem["title"]));
        Assert.False(string.IsNullOrEmpty((string?)problem["detail"]));
        Assert.False(string.IsNullOrEmpty((string?)problem["type"]));
        Assert.StartsWith("req_", (string?)problem["request_id"]);
        return problem;
    }

    public ApiResponse AssertStatus(HttpStatusCode status)
    {
        Assert.True(Status == status, $"Expected {(int)status}, got {(int)Status}: {Body}");
        return this;
    }
}

/// <summary>How a request proves who it is.</summary>
public abstract record Credential
{
    public abstract void Apply(HttpRequestMessage request);

    public static Credential Bearer(string token) => new BearerCredential(token);

    public static Credential ApiKeyHeader(string key) => new HeaderCredential("x-api-key", key);

    private sealed record BearerCredential(string Token) : Credential
    {
        public override void Apply(HttpRequestMessage request) =>
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Token);
    }

    private sealed record HeaderCredential(string Name, string Value) : Credential
    {
        public override void Apply(HttpRequestMessage request) => request.Headers.TryAddWithoutValidation(Name, Value);
    }
}

/// <summary>A registered user with the tokens registration gave it.</summary>
public sealed record TestUser(string Id, string Email, string Username, string Password, string AccessToken, string RefreshToken)
{
    public Credential Token => Credential.Bearer(AccessToken);
}

/// <summary>Raw HTTP access to the API with JSON helpers.</summary>
public sealed class ApiClient(HttpClient http) : IDisposable
{
    public HttpClient Http { get; } = http;

    public Task<ApiResponse> GetAsync(string path, Credential? credential = null, Action<HttpRequestMessage>? configure = null) =>
        SendAsync(HttpMethod.Get, path, null, credential, configure);

    public Task<ApiResponse> DeleteAsync(string path, Credential? credential = null, Action<HttpRequestMessage>? configure = null) =>
        SendAsync(HttpMethod.Delete, path, null, credential, configure);

    public Task<ApiResponse> PostAsync(string path, object? body, Credential? credential = null, Action<HttpRequestMessage>? configure = null) =>
        SendAsync(HttpMethod.Post, path, body is null ? null : JsonContent(body), credential, configure);

    public Task<ApiResponse> PatchAsync(string path, object? body, Credential? credential = null, Action<HttpRequestMessage>? configure = null) =>
        SendAsync(HttpMethod.Patch, path, body is null ? null : JsonContent(body), credential, configure);

    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, HttpContent? content, Credential? credential = null, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        credential?.Apply(request);
        configure?.Invoke(request);
        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return new ApiResponse(response.StatusCode, response.Headers, response.Content.Headers, body);
    }

    /// <summary>JSON text as the body; a string is sent as-is so tests can send malformed JSON.</summary>
    public static HttpContent JsonContent(object body, string mediaType = "application/json") =>
        new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, mediaType);

    public async Task<TestUser> RegisterAsync(string? prefix = null)
    {
        var name = (prefix ?? "user") + Guid.NewGuid().ToString("N")[..10];
        var email = $"{name}@example.test";
        const string password = "correct-horse-battery";
        var response = (await PostAsync("/v1/auth/register", new { email, username = name, password })).AssertStatus(HttpStatusCode.Created);
        // With Api:Envelope=status-message-data the token object is the envelope's data.
        var json = response.Json["status"] is not null && response.Json["data"] is JsonObject data ? data : response.Json;
        return new TestUser((string)json["user"]!["id"]!, email, name, password, (string)json["access_token"]!, (string)json["refresh_token"]!);
    }

    public async Task<(string Id, string Key)> CreateApiKeyAsync(Credential credential, object? body = null)
    {
        var response = (await PostAsync("/v1/api-keys", body ?? new { name = "test key" }, credential)).AssertStatus(HttpStatusCode.Created);
        return ((string)response.Data["id"]!, (string)response.Data["key"]!);
    }

    public async Task<JsonNode> LoginAsync(string email, string password) =>
        (await PostAsync("/v1/auth/login", new { email, password })).AssertStatus(HttpStatusCode.OK).Json;

    public void Dispose() => Http.Dispose();
}
