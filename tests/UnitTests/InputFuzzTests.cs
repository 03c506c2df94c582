using System.Text;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Endpoints;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Http;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains.Resources;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace ApiPlatform.UnitTests;

/// <summary>
/// Any byte sequence a client sends is input: the body reader and the cursor parser answer a 4xx
/// <see cref="ApiException"/> or accept, and nothing they accept makes the next step (field reads, the grain's merge
/// patch, the keyset query) throw. Seeded, so a failure reproduces.
/// </summary>
public sealed class InputFuzzTests
{
    private const int Rounds = 20_000;

    private static readonly string[] Seeds =
    [
        """{"name": "a", "description": null, "type": "t", "status": "active", "metadata": {"k": [1, 2.5, true, null, {"x": "y"}]}}""",
        """{"email": "a@example.test", "username": "ann", "password": "correct-horse", "profile": {"first_name": "A"}}""",
        """{"url": "https://example.com/h", "events": ["resource.created"], "secret": "whsec_abc", "expires_at": "2030-01-15T10:00:00Z"}""",
        """{"metadata": {"a": {"b": {"c": "\ud83d\ude00 \u00e9 \\ \" \/"}}}, "scopes": ["read", "write"]}""",
    ];

    private static readonly byte[] Interesting = Encoding.UTF8.GetBytes("{}[]\",:\\u0dD8ffe0123456789 \t\r\n-+.eEtrufalsn\u00e9");

    private static async Task<BodyReader?> ReadAsync(byte[] body)
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(body);
        try
        {
            return await JsonBody.ReadAsync(context.Request);
        }
        catch (ApiException e)
        {
            Assert.InRange(e.Status, 400, 499);
            return null;
        }
    }

    /// <summary>What the endpoints and grains do with an accepted body: must not throw anything but a 4xx.</summary>
    private static void Use(BodyReader body)
    {
        foreach (var property in body.Root.EnumerateObject())
        {
            body.String(property.Name);
            body.StringArray(property.Name);
            body.Timestamp(property.Name);
            if (body.Object(property.Name) is { } nested)
            {
                foreach (var inner in nested.Root.EnumerateObject())
                {
                    nested.String(inner.Name);
                }
            }

            if (property.Value.ValueKind == System.Text.Json.JsonValueKind.Object)
            {
                var merged = JsonMergePatch.ApplyToObject("""{"k": 1, "nested": {"a": 1}}""", property.Value.GetRawText());
                Assert.NotNull(merged);
            }
        }

        try
        {
            body.ThrowIfInvalid();
        }
        catch (ApiException e)
        {
            Assert.Equal(400, e.Status);
        }
    }

    private static byte[] Mutate(Random random, byte[] seed)
    {
        var bytes = new List<byte>(seed);
        for (var n = random.Next(1, 6); n > 0; n--)
        {
            var at = random.Next(bytes.Count + 1);
            switch (random.Next(4))
            {
                case 0 when bytes.Count > 0 && at < bytes.Count:
                    bytes.RemoveAt(at);
                    break;
                case 1:
                    bytes.Insert(at, Interesting[random.Next(Interesting.Length)]);
                    break;
                case 2 when at < bytes.Count:
                    bytes[at] = (byte)random.Next(256);
                    break;
                default:
                    // Splice in a piece of the seed elsewhere: duplicate names and nesting come from this.
                    var from = random.Next(seed.Length);
                    var length = random.Next(Math.Min(40, seed.Length - from) + 1);
                    bytes.InsertRange(at, seed.AsSpan(from, length).ToArray());
                    break;
            }
        }

        return [.. bytes];
    }

    [Fact]
    public async Task Random_bytes_never_escape_the_body_reader_as_anything_but_a_4xx()
    {
        var random = new Random(1729);
        for (var i = 0; i < Rounds; i++)
        {
            var body = new byte[random.Next(0, 64)];
            random.NextBytes(body);
            if (await ReadAsync(body) is { } reader)
            {
                Use(reader);
            }
        }
    }

    [Fact]
    public async Task Mutated_json_never_escapes_the_body_reader_as_anything_but_a_4xx()
    {
        var random = new Random(4711);
        var accepted = 0;
        for (var i = 0; i < Rounds; i++)
        {
            var seed = Encoding.UTF8.GetBytes(Seeds[i % Seeds.Length]);
            if (await ReadAsync(Mutate(random, seed)) is { } reader)
            {
                accepted++;
                Use(reader);
            }
        }

        // The mutations must reach past the parser often enough to test what follows it.
        Assert.True(accepted > Rounds / 20, $"only {accepted} of {Rounds} mutated bodies parsed");
    }

    [Theory]
    [InlineData("""{"a": 1, "a": 2}""", "a")]
    [InlineData("""{"m": {"x": [1, {"k": 1, "k": 1}]}}""", "m.x[1].k")]
    [InlineData("""{"s": "\udfff"}""", "s")]
    [InlineData("""{"s": ["\ud800x"]}""", "s[0]")]
    public async Task Ambiguous_json_names_the_first_place(string body, string path)
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        var error = await Assert.ThrowsAsync<ApiException>(() => JsonBody.ReadAsync(context.Request));
        Assert.Equal(400, error.Status);
        Assert.True(error.Errors!.ContainsKey(path), string.Join(", ", error.Errors!.Keys));
    }

    private static readonly CursorProtector Cursors = new(Options.Create(new JwtOptions { SigningKey = Convert.ToBase64String(new byte[32]) }));

    private static readonly IReadOnlyList<SortKey> Sort = [new SortKey("created_at", true)];

    /// <summary>The filter binding of an unfiltered list (what the cursor carries is opaque to the test).</summary>
    private const string FilterKey = "unfiltered";

    private static void Decode(string cursor)
    {
        try
        {
            var (keys, _) = ResourceListQuery.DecodeCursor(Cursors, cursor, "-created_at", FilterKey, Sort);
            // Accepted: it must be one the protector issued, with values the query can bind.
            Assert.Equal(2, keys.Count);
            Assert.True(long.TryParse(keys[0], System.Globalization.CultureInfo.InvariantCulture, out _));
        }
        catch (ApiException e)
        {
            Assert.Equal(400, e.Status);
            Assert.True(e.Errors!.ContainsKey("cursor"));
        }
    }

    [Fact]
    public void Random_and_mutated_cursors_are_400_or_the_issued_ones()
    {
        var random = new Random(31337);
        var issued = ResourceListQuery.EncodeCursor(Cursors, "-created_at", FilterKey, null, ["638700000000000000", "res_abc"]);
        Assert.Equal(["638700000000000000", "res_abc"], ResourceListQuery.DecodeCursor(Cursors, issued, "-created_at", FilterKey, Sort).After);

        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/%\0é";
        for (var i = 0; i < Rounds; i++)
        {
            string cursor;
            if (i % 2 == 0)
            {
                var chars = new char[random.Next(0, 200)];
                for (var c = 0; c < chars.Length; c++)
                {
                    chars[c] = random.Next(10) == 0 ? (char)random.Next(0x10000) : alphabet[random.Next(alphabet.Length)];
                }

                cursor = new string(chars);
            }
            else
            {
                var chars = issued.ToCharArray();
                chars[random.Next(chars.Length)] = alphabet[random.Next(alphabet.Length)];
                cursor = new string(chars);
            }

            Decode(cursor);
        }
    }
}
