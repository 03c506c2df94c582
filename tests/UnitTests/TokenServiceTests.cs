using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Grains;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace ApiPlatform.UnitTests;

public sealed class TokenServiceTests
{
    private static readonly AccessTokenClaims Claims = new("usr_ann", "ses_one", "user", "pro");

    // Product time far from the real clock: tokens are judged by the service's clock, not the machine's.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2031, 6, 1, 12, 0, 0, TimeSpan.Zero));

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));

    private TokenService Service(string? key = null, Action<JwtOptions>? configure = null)
    {
        var options = new JwtOptions { SigningKey = key ?? NewKey() };
        configure?.Invoke(options);
        return new TokenService(Options.Create(options), new ApiClock(_time));
    }

    /// <summary>Rewrites the payload of a signed token, keeping its header and signature.</summary>
    private static string WithPayload(string token, Action<JsonObject> change)
    {
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!.AsObject();
        change(payload);
        parts[1] = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        return string.Join('.', parts);
    }

    [Fact]
    public async Task Created_token_validates_to_the_same_claims()
    {
        var tokens = Service();

        var token = tokens.CreateAccessToken(Claims);

        Assert.Equal(Claims, await tokens.ValidateAsync(token));
    }

    [Fact]
    public async Task Token_validates_on_another_service_with_the_same_key()
    {
        var key = NewKey();

        var token = Service(key).CreateAccessToken(Claims);

        Assert.Equal(Claims, await Service(key).ValidateAsync(token));
    }

    [Fact]
    public void Token_carries_the_lifetime_of_the_options()
    {
        var tokens = Service(configure: o => o.AccessTokenLifetime = TimeSpan.FromMinutes(15));

        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(tokens.CreateAccessToken(Claims).Split('.')[1]))!;

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        Assert.Equal(now, (long)payload["iat"]!);
        Assert.Equal(now, (long)payload["nbf"]!);
        Assert.Equal(now + 15 * 60, (long)payload["exp"]!);
        Assert.Equal(15 * 60, tokens.AccessTokenSeconds);
    }

    [Fact]
    public async Task Tampered_token_is_refused()
    {
        var tokens = Service();
        var token = tokens.CreateAccessToken(Claims);

        var promoted = WithPayload(token, p => p["role"] = "admin");
        var otherUser = WithPayload(token, p => p["sub"] = "usr_mallory");
        var extended = WithPayload(token, p => p["exp"] = (long)p["exp"]! + 3600);

        Assert.Null(await tokens.ValidateAsync(promoted));
        Assert.Null(await tokens.ValidateAsync(otherUser));
        Assert.Null(await tokens.ValidateAsync(extended));
        Assert.Null(await tokens.ValidateAsync(token[..^2]));
        Assert.Null(await tokens.ValidateAsync(token.Split('.')[0] + "." + token.Split('.')[1] + "."));
    }

    [Fact]
    public async Task Unsigned_token_is_refused()
    {
        var tokens = Service();
        var parts = tokens.CreateAccessToken(Claims).Split('.');
        var none = Base64Url.EncodeToString("""{"alg":"none","typ":"JWT"}"""u8);

        Assert.Null(await tokens.ValidateAsync(none + "." + parts[1] + "."));
    }

    [Fact]
    public async Task Token_signed_with_another_key_is_refused()
    {
        var forged = Service().CreateAccessToken(Claims);

        Assert.Null(await Service().ValidateAsync(forged));
    }

    [Fact]
    public async Task Token_of_another_issuer_or_audience_is_refused()
    {
        var key = NewKey();
        var tokens = Service(key);

        Assert.Null(await tokens.ValidateAsync(Service(key, o => o.Issuer = "someone-else").CreateAccessToken(Claims)));
        Assert.Null(await tokens.ValidateAsync(Service(key, o => o.Audience = "someone-else").CreateAccessToken(Claims)));
    }

    [Fact]
    public async Task Token_expires_after_its_lifetime_and_the_clock_skew()
    {
        var tokens = Service();
        var token = tokens.CreateAccessToken(Claims);
        var lifetime = new JwtOptions().AccessTokenLifetime;
        var skew = TimeSpan.FromSeconds(30);

        _time.Advance(lifetime + skew - TimeSpan.FromSeconds(1));
        Assert.Equal(Claims, await tokens.ValidateAsync(token));

        // The service remembers the token it validated a moment ago: the lifetime is still checked on that path.
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await tokens.ValidateAsync(token));
    }

    [Fact]
    public async Task Token_not_yet_valid_beyond_the_clock_skew_is_refused()
    {
        var key = NewKey();
        var tokens = Service(key);
        // Issued by a gateway whose clock runs 31 seconds ahead: its nbf is past the 30-second skew.
        var ahead = new TokenService(Options.Create(new JwtOptions { SigningKey = key }),
            new ApiClock(new FakeTimeProvider(_time.GetUtcNow() + TimeSpan.FromSeconds(31))));
        var token = ahead.CreateAccessToken(Claims);

        Assert.Null(await tokens.ValidateAsync(token));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Claims, await tokens.ValidateAsync(token));
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9..")]
    [InlineData("sk_0123456789ABCDEFGHIJkl_secret")]
    public async Task Garbage_is_refused(string token)
    {
        Assert.Null(await Service().ValidateAsync(token));
    }

    [Fact]
    public async Task Token_longer_than_4096_characters_is_refused_even_if_valid()
    {
        var tokens = Service();
        var token = tokens.CreateAccessToken(Claims with { UserId = "usr_" + new string('a', 4096) });

        Assert.True(token.Length > 4096);
        Assert.Null(await tokens.ValidateAsync(token));
        Assert.Null(await tokens.ValidateAsync(new string('a', 5000)));
    }

    [Fact]
    public void Service_refuses_an_invalid_key()
    {
        Assert.Throws<InvalidOperationException>(() => Service("c2hvcnQ="));
    }

    [Fact]
    public void KeyBytes_decodes_a_key_of_at_least_32_bytes()
    {
        var bytes = RandomNumberGenerator.GetBytes(48);

        Assert.Equal(bytes, new JwtOptions { SigningKey = Convert.ToBase64String(bytes) }.KeyBytes());
        var exact = RandomNumberGenerator.GetBytes(32);
        Assert.Equal(exact, new JwtOptions { SigningKey = Convert.ToBase64String(exact) }.KeyBytes());
    }

    [Theory]
    [InlineData("")]
    [InlineData("c2hvcnQ=")]                                          // "short"
    [InlineData("not base64 at all!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==")]      // 31 bytes
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]       // bad padding
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_")]  // base64url, not base64
    public void KeyBytes_is_null_for_a_short_or_malformed_key(string key)
    {
        Assert.Null(new JwtOptions { SigningKey = key }.KeyBytes());
    }
}
