using ApiPlatform.Grains;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.UnitTests;

public sealed class ApiKeyTokensTests
{
    private const string KeyId = "key_0123456789ABCDEFGHIJkl";
    private const string Suffix = "0123456789ABCDEFGHIJkl";

    [Fact]
    public void Created_token_parses_back_to_key_id_and_secret()
    {
        var keyId = Ids.New(Ids.ApiKey);
        var secret = Ids.RandomToken(ApiKeyTokens.SecretLength);

        var token = ApiKeyTokens.Create(keyId, secret);

        Assert.Equal($"sk_{Ids.Suffix(keyId)}_{secret}", token);
        Assert.True(ApiKeyTokens.LooksLikeApiKey(token));
        Assert.True(ApiKeyTokens.TryParse(token, out var parsedId, out var parsedSecret));
        Assert.Equal(keyId, parsedId);
        Assert.Equal(secret, parsedSecret);
    }

    [Fact]
    public void Token_of_exactly_200_characters_parses()
    {
        var token = "sk_" + Suffix + "_" + new string('a', 200 - 3 - 22 - 1);

        Assert.True(ApiKeyTokens.TryParse(token, out var keyId, out _));
        Assert.Equal(KeyId, keyId);
    }

    public static TheoryData<string> MalformedTokens => new()
    {
        "",
        "sk_",
        "sk_" + Suffix,                                         // no separator
        "sk_" + Suffix + "_",                                   // no secret
        "sk__secret",                                           // no key id
        "sk_0123456789ABCDEFGHIJk_secret",                      // 21-character id
        "sk_0123456789ABCDEFGHIJklm_secret",                    // 23-character id
        "sk_0123456789ABCDEFGHIJ-l_secret",                     // id not base62
        "sk_" + Suffix + "_" + new string('a', 200),            // over-long
        "sk_../../../etc/passwd_secret",                        // path in the id
        "sk_0123456789ABCDEFGH/../_secret",
        "sk_..%2F..%2F0123456789AB_secret",
        "SK_" + Suffix + "_secret",                             // prefix is case-sensitive
        "rt_" + Suffix + "_secret",                             // a refresh token
        " sk_" + Suffix + "_secret",
        "eyJhbGciOiJIUzI1NiJ9.e30.sig",                         // a JWT
    };

    [Theory]
    [MemberData(nameof(MalformedTokens))]
    public void TryParse_refuses_malformed_tokens(string token)
    {
        Assert.False(ApiKeyTokens.TryParse(token, out _, out _));
    }

    [Fact]
    public void TryParse_refuses_null()
    {
        Assert.False(ApiKeyTokens.TryParse(null, out _, out _));
    }

    [Theory]
    [InlineData("sk_anything", true)]
    [InlineData("sk_", true)]
    [InlineData("SK_anything", false)]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.e30.sig", false)]
    [InlineData("rt_x_y", false)]
    [InlineData("", false)]
    public void LooksLikeApiKey_goes_by_the_sk_prefix(string credential, bool expected)
    {
        Assert.Equal(expected, ApiKeyTokens.LooksLikeApiKey(credential));
    }
}

public sealed class RefreshTokensTests
{
    private const string Suffix = "0123456789ABCDEFGHIJkl";

    [Fact]
    public void Created_token_names_its_session()
    {
        var sessionId = Ids.New(Ids.Session);

        var token = RefreshTokens.Create(sessionId, Ids.RandomToken(43));

        Assert.StartsWith("rt_" + Ids.Suffix(sessionId) + "_", token);
        Assert.Equal(sessionId, RefreshTokens.SessionIdOf(token));
    }

    public static TheoryData<string> MalformedTokens => new()
    {
        "",
        "rt_",
        "rt_" + Suffix,                                         // no separator
        "rt__secret",                                           // no session id
        "rt_0123456789ABCDEFGHIJk_secret",                      // 21-character id
        "rt_0123456789ABCDEFGHIJklm_secret",                    // 23-character id
        "rt_0123456789ABCDEFGHIJ-l_secret",                     // id not base62
        "rt_" + Suffix + "_" + new string('a', 200),            // over-long
        "rt_../../../etc/passwd_secret",                        // path in the id
        "rt_0123456789ABCDEFGH/../_secret",
        "RT_" + Suffix + "_secret",
        "sk_" + Suffix + "_secret",                             // an API key
        " rt_" + Suffix + "_secret",
    };

    [Theory]
    [MemberData(nameof(MalformedTokens))]
    public void SessionIdOf_refuses_malformed_tokens(string token)
    {
        Assert.Null(RefreshTokens.SessionIdOf(token));
    }

    [Fact]
    public void SessionIdOf_refuses_null()
    {
        Assert.Null(RefreshTokens.SessionIdOf(null));
    }
}

public sealed class SecretHashTests
{
    [Fact]
    public void Hash_is_hex_sha256()
    {
        var hash = SecretHash.Of("secret");

        Assert.Equal(64, hash.Length);
        Assert.Matches("^[0-9A-F]{64}$", hash);
        Assert.Equal(hash, SecretHash.Of("secret"));
        Assert.NotEqual(hash, SecretHash.Of("Secret"));
    }

    [Fact]
    public void Matching_secret_matches()
    {
        Assert.True(SecretHash.Matches("sk_abc_def", SecretHash.Of("sk_abc_def")));
        Assert.True(SecretHash.Matches("", SecretHash.Of("")));
    }

    [Theory]
    [InlineData("sk_abc_deF")]
    [InlineData("sk_abc_def ")]
    [InlineData("")]
    public void Other_secret_does_not_match(string presented)
    {
        Assert.False(SecretHash.Matches(presented, SecretHash.Of("sk_abc_def")));
    }

    [Fact]
    public void Empty_stored_hash_matches_nothing()
    {
        Assert.False(SecretHash.Matches("", ""));
        Assert.False(SecretHash.Matches("anything", ""));
    }

    public static TheoryData<string> MalformedHashes
    {
        get
        {
            var good = SecretHash.Of("secret");
            return new TheoryData<string>
            {
                "not a hash",
                good[..^1],                 // odd length
                good[..^2],                 // 31 bytes
                good + "00",                // 33 bytes
                good + good,                // 64 bytes
                "Z" + good[1..],            // not hex
                good[..10] + " " + good[11..],
            };
        }
    }

    [Theory]
    [MemberData(nameof(MalformedHashes))]
    public void Malformed_stored_hash_matches_nothing(string stored)
    {
        Assert.False(SecretHash.Matches("secret", stored));
    }
}
