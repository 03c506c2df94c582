using System.Net;
using System.Text;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>
/// Malformed, oversized, wrong-typed and hostile input on every endpoint with a body: each gets its precise 4xx
/// problem, never a 500, and nothing stored changes.
/// </summary>
public abstract class BadInputTests(ApiServer server) : ApiTestBase(server)
{
    public static TheoryData<string, string> BodyEndpoints => new()
    {
        { "POST", "/v1/auth/register" },
        { "POST", "/v1/auth/login" },
        { "POST", "/v1/auth/refresh" },
        { "POST", "/v1/api-keys" },
        { "PATCH", "/v1/users/me" },
    };

    private async Task<ApiResponse> SendToAsync(string method, string path, HttpContent? content, Credential? credential = null)
    {
        var user = credential ?? (await Client.RegisterAsync()).Token;
        return await Client.SendAsync(new HttpMethod(method), path, content, user);
    }

    private static string BigRegistration(string email) =>
        $$$"""{"email": "{{{email}}}", "username": "big{{{Guid.NewGuid().ToString("N")[..8]}}}", "password": "password-123", "profile": {"first_name": "{{{new string('x', 9000)}}}"}}""";

    [Theory]
    [MemberData(nameof(BodyEndpoints))]
    public async Task A_body_over_8_KB_is_413_before_authentication(string method, string path)
    {
        var email = $"big{Guid.NewGuid():N}@example.test";
        var response = await Client.SendAsync(new HttpMethod(method), path, ApiClient.JsonContent(BigRegistration(email)));
        response.AssertProblem(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");

        (await Client.PostAsync("/v1/auth/login", new { email, password = "password-123" })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_credentials");
    }

    [Theory]
    [MemberData(nameof(BodyEndpoints))]
    public async Task A_chunked_body_over_8_KB_is_413(string method, string path)
    {
        var bytes = Encoding.UTF8.GetBytes(BigRegistration($"chunk{Guid.NewGuid():N}@example.test"));
        var content = new StreamContent(new MemoryStream(bytes));
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        var response = await Client.SendAsync(new HttpMethod(method), path, content, (await Client.RegisterAsync()).Token,
            r => r.Headers.TransferEncodingChunked = true);
        response.AssertProblem(HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
    }

    [Fact]
    public async Task A_body_of_exactly_8_KB_is_accepted()
    {
        var user = await Client.RegisterAsync();
        var prefix = """{"profile": {"first_name": "Jane"}, "padding": " """;
        var json = prefix + new string(' ', 8192 - prefix.Length - 2) + "\"}";
        Assert.Equal(8192, Encoding.UTF8.GetByteCount(json));
        (await Client.SendAsync(HttpMethod.Patch, "/v1/users/me", ApiClient.JsonContent(json), user.Token)).AssertStatus(HttpStatusCode.OK);
    }

    [Theory]
    [MemberData(nameof(BodyEndpoints))]
    public async Task A_wrong_content_type_is_415(string method, string path)
    {
        foreach (var media in new[] { "text/plain", "application/x-www-form-urlencoded", "application/xml", "application/json; charset=latin1" })
        {
            var response = await SendToAsync(method, path, ApiClient.JsonContent("""{"email": "a@b.c"}""", "application/json").WithMediaType(media));
            response.AssertProblem(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        }

        var none = await SendToAsync(method, path, null);
        none.AssertProblem(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Theory]
    [MemberData(nameof(BodyEndpoints))]
    public async Task Malformed_or_non_object_json_is_400(string method, string path)
    {
        var user = await Client.RegisterAsync();
        foreach (var body in new[] { "", "{", """{"email": }""", "[]", "\"text\"", "42", "null", "{\"a\":1}{", new string('[', 100) + new string(']', 100) })
        {
            var response = await Client.SendAsync(new HttpMethod(method), path, ApiClient.JsonContent(body), user.Token);
            response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        }

        Assert.Equal(user.Id, (string?)(await Client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK).Data["id"]);
    }

    /// <summary>Sends raw bytes (what HttpClient would refuse to send) and returns the status code and body.</summary>
    private async Task<(int Status, string Head, string Body)> SendRawAsync(string request)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(Server.BaseAddress.Host, Server.BaseAddress.Port, TestContext.Current.CancellationToken);
        var stream = tcp.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request), TestContext.Current.CancellationToken);
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        // Every answer here closes the connection, so the whole response is what arrives until then.
        var text = await reader.ReadToEndAsync(TestContext.Current.CancellationToken);
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = text[..split];
        var body = text[(split + 4)..];
        if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            var first = body.IndexOf("\r\n", StringComparison.Ordinal);
            var size = Convert.ToInt32(body[..first], 16);
            body = body.Substring(first + 2, size);
        }

        return (int.Parse(head.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), head, body);
    }

    [Fact]
    public async Task A_request_line_over_the_limit_is_414_problem_details()
    {
        var (status, _, body) = await SendRawAsync($"GET /v1/resources?q={new string('a', 9000)} HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(414, status);
        Assert.Equal("uri_too_long", (string?)System.Text.Json.Nodes.JsonNode.Parse(body)!["code"]);
    }

    [Fact]
    public async Task Headers_over_the_limit_are_431_problem_details()
    {
        var (status, _, body) = await SendRawAsync($"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 40_000)}\r\n\r\n");
        Assert.Equal(431, status);
        Assert.Equal("request_headers_too_large", (string?)System.Text.Json.Nodes.JsonNode.Parse(body)!["code"]);

        var many = string.Concat(Enumerable.Range(0, 150).Select(i => $"X-H{i}: v\r\n"));
        (status, _, body) = await SendRawAsync($"GET /health HTTP/1.1\r\nHost: x\r\n{many}\r\n");
        Assert.Equal(431, status);
        Assert.Equal("request_headers_too_large", (string?)System.Text.Json.Nodes.JsonNode.Parse(body)!["code"]);
    }

    [Theory]
    [InlineData("GARBAGE\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")]
    [InlineData("GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: {0}\r\n\r\n")]
    public async Task What_kestrel_refuses_itself_is_a_4xx_and_the_server_carries_on(string request)
    {
        // Kestrel answers these before any application code runs, with a status line and no body (documented).
        var (status, _, _) = await SendRawAsync(request.Replace("{0}", new string('a', 100_000), StringComparison.Ordinal));
        Assert.InRange(status, 400, 499);
        (await Client.GetAsync("/health")).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_crafted_cursor_is_400_naming_it_not_a_500()
    {
        var user = await Client.RegisterAsync();
        // Well-formed JSON with the right shape, but a timestamp that is no number and no seal: reached long.Parse once.
        foreach (var json in new[]
        {
            """{"S":"-created_at","St":null,"Ty":null,"K":["abc","res_x"]}""",
            """{"S":"-created_at","St":null,"Ty":null,"K":["99999999999999999999999","res_x"]}""",
            """{"S":"-created_at","St":null,"Ty":null,"K":["1","res_x"]}""",
        })
        {
            var cursor = Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode(System.Text.Encoding.UTF8.GetBytes(json));
            foreach (var candidate in new[] { cursor, cursor + ".AAAAAAAAAAAAAAAAAAAAAA", cursor + "." })
            {
                var problem = (await Client.GetAsync("/v1/resources?cursor=" + Uri.EscapeDataString(candidate), user.Token))
                    .AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
                Assert.NotNull(problem["errors"]!["cursor"]);
            }
        }
    }

    [Theory]
    [InlineData("""{"name": "a", "name": "b"}""", "name")]
    [InlineData("""{"name": "a", "metadata": {"k": 1, "k": 2}}""", "metadata.k")]
    [InlineData("""{"name": "a", "metadata": {"list": [{"x": 1, "x": 1}]}}""", "metadata.list[0].x")]
    [InlineData("""{"name": "\ud800"}""", "name")]
    [InlineData("""{"name": "a", "metadata": {"k": "x\udc00y"}}""", "metadata.k")]
    [InlineData("""{"name": "a", "metadata": {"k": ["ok", "\ud83d"]}}""", "metadata.k[1]")]
    [InlineData("""{"name": "a", "metadata": {"\ud800": 1}}""", "metadata")]
    public async Task Json_without_one_meaning_is_400_naming_the_place(string body, string field)
    {
        var user = await Client.RegisterAsync();
        var created = (await Client.SendAsync(HttpMethod.Post, "/v1/resources", ApiClient.JsonContent(body), user.Token))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.NotNull(created["errors"]![field]);

        var id = (string)(await Client.PostAsync("/v1/resources", new { name = "r", metadata = new { k = 1 } }, user.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        var patched = (await Client.SendAsync(HttpMethod.Patch, "/v1/resources/" + id, ApiClient.JsonContent(body), user.Token))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.NotNull(patched["errors"]![field]);
        Assert.Equal(1, (int)(await Client.GetAsync("/v1/resources/" + id, user.Token)).AssertStatus(HttpStatusCode.OK).Data["metadata"]!["k"]!);
    }

    [Fact]
    public async Task A_valid_surrogate_pair_is_text_and_is_kept()
    {
        var user = await Client.RegisterAsync();
        var created = (await Client.SendAsync(HttpMethod.Post, "/v1/resources", ApiClient.JsonContent("""{"name": "smile \ud83d\ude00"}"""), user.Token))
            .AssertStatus(HttpStatusCode.Created);
        Assert.Equal("smile \U0001F600", (string)created.Data["name"]!);
    }

    [Theory]
    [InlineData("""{"username": "u1234567", "password": "password-123"}""", "email")]
    [InlineData("""{"email": 5, "username": "u1234567", "password": "password-123"}""", "email")]
    [InlineData("""{"email": "not-an-email", "username": "u1234567", "password": "password-123"}""", "email")]
    [InlineData("""{"email": "a@example.test", "password": "password-123"}""", "username")]
    [InlineData("""{"email": "a@example.test", "username": "has space", "password": "password-123"}""", "username")]
    [InlineData("""{"email": "a@example.test", "username": ["u"], "password": "password-123"}""", "username")]
    [InlineData("""{"email": "a@example.test", "username": "u1234567"}""", "password")]
    [InlineData("""{"email": "a@example.test", "username": "u1234567", "password": "short"}""", "password")]
    [InlineData("""{"email": "a@example.test", "username": "u1234567", "password": true}""", "password")]
    [InlineData("""{"email": "a@example.test", "username": "u1234567", "password": "password-123", "profile": []}""", "profile")]
    [InlineData("""{"email": "a\u0000b@example.test", "username": "u1234567", "password": "password-123"}""", "email")]
    public async Task Register_validation_names_the_field(string body, string field)
    {
        var response = await Client.SendAsync(HttpMethod.Post, "/v1/auth/register", ApiClient.JsonContent(body));
        var problem = response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.NotNull(problem["errors"]![field]);
        Assert.Contains(field, (string?)problem["detail"]);
    }

    [Fact]
    public async Task A_password_longer_than_128_characters_is_refused()
    {
        var response = await Client.PostAsync("/v1/auth/register",
            new { email = $"long{Guid.NewGuid():N}@example.test", username = "long" + Guid.NewGuid().ToString("N")[..8], password = new string('p', 129) });
        Assert.NotNull(response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["password"]);
    }

    [Theory]
    [InlineData("""{"email": "a@example.test"}""", "password")]
    [InlineData("""{"password": "x"}""", "email")]
    [InlineData("""{"email": {"$ne": null}, "password": "x"}""", "email")]
    [InlineData("""{"email": "a@example.test", "password": ""}""", "password")]
    public async Task Login_validation_names_the_field(string body, string field)
    {
        var response = await Client.SendAsync(HttpMethod.Post, "/v1/auth/login", ApiClient.JsonContent(body));
        Assert.NotNull(response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]![field]);
    }

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"refresh_token": 7}""")]
    public async Task Refresh_validation_names_the_field(string body)
    {
        var response = await Client.SendAsync(HttpMethod.Post, "/v1/auth/refresh", ApiClient.JsonContent(body));
        Assert.NotNull(response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["refresh_token"]);
    }

    [Theory]
    [InlineData("rt_")]
    [InlineData("rt_abc_def")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.e30.x")]
    [InlineData("rt_../../etc/passwd_x")]
    public async Task Unknown_refresh_tokens_are_invalid_token(string token)
    {
        (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = token })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task Strings_that_look_like_code_are_stored_as_plain_text()
    {
        var user = await Client.RegisterAsync();
        const string hostile = "Robert'); DROP TABLE users;-- <script>alert(1)</script> ☃";
        var response = (await Client.PatchAsync("/v1/users/me", new { profile = new { first_name = hostile } }, user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(hostile, (string?)response.Data["profile"]!["first_name"]);
        Assert.Equal(hostile, (string?)(await Client.GetAsync("/v1/users/me", user.Token)).Data["profile"]!["first_name"]);
    }

    [Fact]
    public async Task Oversized_or_odd_credentials_are_401_not_500()
    {
        (await Client.GetAsync("/v1/users/me", Credential.Bearer(new string('a', 6000)))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader("sk_" + new string('a', 300)))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader("sk_AAAA_"))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");
        (await Client.GetAsync("/v1/users/me", configure: r => r.Headers.TryAddWithoutValidation("Authorization", "Bearer ")))
            .AssertProblem(HttpStatusCode.Unauthorized, "authentication_required");
    }

    [Theory]
    [InlineData("/v1/api-keys?page=0")]
    [InlineData("/v1/api-keys?page=-1")]
    [InlineData("/v1/api-keys?page=abc")]
    [InlineData("/v1/api-keys?per_page=0")]
    [InlineData("/v1/api-keys?per_page=101")]
    [InlineData("/v1/api-keys?per_page=1e3")]
    [InlineData("/v1/api-keys?page=99999999999")]
    [InlineData("/v1/api-keys?page=1&page=2")]
    public async Task Out_of_range_paging_is_400_naming_the_parameter(string path)
    {
        var user = await Client.RegisterAsync();
        var problem = (await Client.GetAsync(path, user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        var parameter = path.Contains("per_page", StringComparison.Ordinal) ? "per_page" : "page";
        Assert.NotNull(problem["errors"]![parameter]);
    }

    [Fact]
    public async Task Unknown_routes_and_methods_are_problem_details()
    {
        (await Client.GetAsync("/v1/nothing-here")).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.SendAsync(HttpMethod.Put, "/v1/users/me", ApiClient.JsonContent("{}"))).AssertProblem(HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }

    [Fact]
    public async Task Every_error_carries_the_request_id_of_its_response_header()
    {
        var response = await Client.GetAsync("/v1/users/me");
        var problem = response.AssertProblem(HttpStatusCode.Unauthorized, "authentication_required");
        Assert.Equal(response.Header("X-Request-Id"), (string?)problem["request_id"]);
        Assert.Equal("urn:api-platform:problem:authentication_required", (string?)problem["type"]);
    }
}

[Collection(Servers.Embedded)]
public sealed class BadInputTestsOnEmbedded(EmbeddedServer server) : BadInputTests(server);

[Collection(Servers.Postgres)]
public sealed class BadInputTestsOnPostgres(PostgresServer server) : BadInputTests(server);

internal static class ContentExtensions
{
    public static HttpContent WithMediaType(this HttpContent content, string mediaType)
    {
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", mediaType);
        return content;
    }
}
