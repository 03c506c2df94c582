using System.Text.Json;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Json;

namespace ApiPlatform.UnitTests;

public sealed class JsonBodyTests
{
    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json;charset=UTF-8")]
    [InlineData("APPLICATION/JSON")]
    [InlineData("Application/Json; Charset=Utf-8")]
    [InlineData("application/merge-patch+json")]
    [InlineData("application/problem+json")]
    [InlineData("application/vnd.api+json; charset=utf-8")]
    public void Json_media_types_are_accepted(string contentType)
    {
        Assert.True(JsonBody.IsJson(contentType));
    }

    [Fact]
    public void Quoted_utf8_charset_is_accepted()
    {
        // RFC 9110 §5.6.6: a parameter value may be a token or a quoted-string, and both forms mean the same.
        Assert.True(JsonBody.IsJson("application/json; charset=\"utf-8\""));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("text/json")]
    [InlineData("application/json; charset=latin1")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/jsonx")]
    [InlineData("application/json-patch")]
    [InlineData("application/xml")]
    [InlineData("text/plain+json")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("json")]
    [InlineData("garbage")]
    [InlineData("application/")]
    [InlineData(";;;")]
    public void Other_media_types_are_refused(string? contentType)
    {
        Assert.False(JsonBody.IsJson(contentType));
    }
}

public sealed class BodyReaderTests
{
    private static BodyReader Read(string json) => new(JsonDocument.Parse(json).RootElement);

    private static ApiException Invalid(BodyReader body) => Assert.Throws<ApiException>(body.ThrowIfInvalid);

    private static IReadOnlyDictionary<string, string[]> ErrorsOf(BodyReader body) => Invalid(body).Errors!;

    [Fact]
    public void String_reads_and_trims_a_value()
    {
        var body = Read("""{"name": "  Ann  "}""");

        Assert.Equal("Ann", body.String("name"));
        body.ThrowIfInvalid();
    }

    [Fact]
    public void String_keeps_spaces_when_asked_not_to_trim()
    {
        var body = Read("""{"password": "  secret  "}""");

        Assert.Equal("  secret  ", body.String("password", trim: false));
    }

    [Fact]
    public void Absent_or_null_optional_string_is_null_without_error()
    {
        var body = Read("""{"b": null}""");

        Assert.Null(body.String("a"));
        Assert.Null(body.String("b"));
        body.ThrowIfInvalid();
    }

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"name": null}""")]
    public void Required_string_must_be_given(string json)
    {
        var body = Read(json);

        Assert.Null(body.String("name", required: true));

        Assert.Equal(["is required"], ErrorsOf(body)["name"]);
    }

    [Theory]
    [InlineData("""{"name": 1}""")]
    [InlineData("""{"name": true}""")]
    [InlineData("""{"name": {}}""")]
    [InlineData("""{"name": ["a"]}""")]
    public void String_of_another_type_is_an_error(string json)
    {
        var body = Read(json);

        Assert.Null(body.String("name"));

        Assert.Equal(["must be a string"], ErrorsOf(body)["name"]);
    }

    [Theory]
    [InlineData("""{"name": ""}""", "must not be empty")]
    [InlineData("""{"name": "   "}""", "must not be empty")]
    public void String_shorter_than_one_is_empty(string json, string message)
    {
        var body = Read(json);

        Assert.Null(body.String("name", minLength: 1));

        Assert.Equal([message], ErrorsOf(body)["name"]);
    }

    [Fact]
    public void String_length_is_checked_after_trimming()
    {
        var body = Read("""{"short": " ab ", "long": " abcd ", "exact": " abc "}""");

        Assert.Null(body.String("short", minLength: 3));
        Assert.Null(body.String("long", maxLength: 3));
        Assert.Equal("abc", body.String("exact", minLength: 3, maxLength: 3));

        var errors = ErrorsOf(body);
        Assert.Equal(["must be at least 3 characters"], errors["short"]);
        Assert.Equal(["must be at most 3 characters"], errors["long"]);
        Assert.False(errors.ContainsKey("exact"));
    }

    [Theory]
    [InlineData("""{"name": "a\u0000b"}""")]
    [InlineData("""{"name": "a\nb"}""")]
    [InlineData("""{"name": "a\u007fb"}""")]
    [InlineData("""{"name": "a\u0085b"}""")]
    public void String_with_control_characters_is_an_error(string json)
    {
        var body = Read(json);

        Assert.Null(body.String("name"));

        Assert.Equal(["must not contain control characters"], ErrorsOf(body)["name"]);
    }

    [Fact]
    public void Nested_errors_are_named_with_the_object_path()
    {
        var body = Read("""{"profile": {"first_name": 5, "address": {"city": ""}}}""");

        var profile = body.Object("profile")!;
        Assert.Null(profile.String("first_name"));
        Assert.Null(profile.Object("address")!.String("city", minLength: 1));

        var errors = ErrorsOf(body);
        Assert.Equal(["must be a string"], errors["profile.first_name"]);
        Assert.Equal(["must not be empty"], errors["profile.address.city"]);
        Assert.Equal(2, errors.Count);
    }

    [Fact]
    public void Object_that_is_not_an_object_is_an_error()
    {
        var body = Read("""{"profile": "Ann", "none": null}""");

        Assert.Null(body.Object("profile"));
        Assert.Null(body.Object("none"));
        Assert.Null(body.Object("absent"));

        Assert.Equal(["must be an object"], ErrorsOf(body)["profile"]);
    }

    [Fact]
    public void ThrowIfInvalid_names_every_bad_field()
    {
        var body = Read("""{"email": 1, "name": "", "profile": {"first_name": "\u0001"}, "ok": "fine"}""");
        body.String("email", required: true);
        body.String("name", minLength: 1);
        body.String("username", required: true);
        body.Object("profile")!.String("first_name");
        body.String("ok");
        body.AddError("name", "is taken");

        var error = Invalid(body);

        Assert.Equal(400, error.Status);
        Assert.Equal(ProblemCodes.InvalidRequest, error.Code);
        Assert.NotNull(error.Errors);
        Assert.Equal(["email", "name", "profile.first_name", "username"], error.Errors.Keys.Order());
        Assert.Equal(["must not be empty", "is taken"], error.Errors["name"]);
        Assert.Contains("'email' must be a string", error.Detail);
        Assert.Contains("'profile.first_name'", error.Detail);
    }

    [Fact]
    public void ThrowIfInvalid_is_quiet_without_errors()
    {
        var body = Read("""{"name": "Ann"}""");
        body.String("name", required: true);

        body.ThrowIfInvalid();
    }

    [Fact]
    public void StringArray_reads_strings()
    {
        var body = Read("""{"scopes": ["read", "write"], "empty": [], "none": null}""");

        Assert.Equal(["read", "write"], body.StringArray("scopes"));
        Assert.Equal([], body.StringArray("empty"));
        Assert.Null(body.StringArray("none"));
        Assert.Null(body.StringArray("absent"));
        body.ThrowIfInvalid();
    }

    [Theory]
    [InlineData("""{"scopes": "read"}""", "must be an array of strings")]
    [InlineData("""{"scopes": ["read", 1]}""", "must be an array of strings")]
    [InlineData("""{"scopes": ["read", null]}""", "must be an array of strings")]
    [InlineData("""{"scopes": {"0": "read"}}""", "must be an array of strings")]
    [InlineData("""{"scopes": ["a", "b", "c"]}""", "must have at most 2 items")]
    public void StringArray_of_the_wrong_shape_is_an_error(string json, string message)
    {
        var body = Read(json);

        Assert.Null(body.StringArray("scopes", maxItems: 2));

        Assert.Equal([message], ErrorsOf(body)["scopes"]);
    }

    [Theory]
    [InlineData("2030-01-15T10:00:00Z", "2030-01-15T10:00:00+00:00")]
    [InlineData("2030-01-15T12:00:00+02:00", "2030-01-15T10:00:00+00:00")]
    [InlineData("2030-01-15T10:00:00.5Z", "2030-01-15T10:00:00.5+00:00")]
    public void Timestamp_reads_iso_8601_as_utc(string value, string expected)
    {
        var body = Read($$"""{"at": "{{value}}"}""");

        var at = body.Timestamp("at");

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), at);
        Assert.Equal(TimeSpan.Zero, at!.Value.Offset);
        body.ThrowIfInvalid();
    }

    [Theory]
    [InlineData("""{"at": "not a date"}""", "must be an ISO 8601 timestamp such as 2030-01-15T10:00:00Z")]
    [InlineData("""{"at": "2030-13-45T10:00:00Z"}""", "must be an ISO 8601 timestamp such as 2030-01-15T10:00:00Z")]
    [InlineData("""{"at": 1893456000}""", "must be a string")]
    public void Timestamp_that_is_not_one_is_an_error(string json, string message)
    {
        var body = Read(json);

        Assert.Null(body.Timestamp("at"));

        Assert.Equal([message], ErrorsOf(body)["at"]);
    }

    [Theory]
    [InlineData("01/02/2030")]
    [InlineData("Jan 15 2030")]
    [InlineData("15 January 2030 10:00")]
    public void Timestamp_refuses_formats_that_are_not_iso_8601(string value)
    {
        // The contract and the error message promise ISO 8601; "01/02/2030" is ambiguous (2 January or 1 February).
        var body = Read($$"""{"at": "{{value}}"}""");

        Assert.Null(body.Timestamp("at"));

        Assert.True(ErrorsOf(body).ContainsKey("at"));
    }

    [Fact]
    public void Absent_or_null_timestamp_is_null_without_error()
    {
        var body = Read("""{"at": null}""");

        Assert.Null(body.Timestamp("at"));
        Assert.Null(body.Timestamp("absent"));
        body.ThrowIfInvalid();
    }

    [Fact]
    public void Has_and_IsNull_tell_absent_from_null()
    {
        var body = Read("""{"given": "x", "nulled": null, "empty": ""}""");

        Assert.True(body.Has("given"));
        Assert.False(body.IsNull("given"));
        Assert.True(body.Has("nulled"));
        Assert.True(body.IsNull("nulled"));
        Assert.True(body.Has("empty"));
        Assert.False(body.IsNull("empty"));
        Assert.False(body.Has("absent"));
        Assert.False(body.IsNull("absent"));
    }
}

public sealed class PageMetaTests
{
    [Theory]
    [InlineData(1, 20, 0, 0)]
    [InlineData(1, 20, 1, 1)]
    [InlineData(1, 20, 20, 1)]
    [InlineData(1, 20, 40, 2)]
    [InlineData(1, 20, 41, 3)]
    [InlineData(3, 1, 7, 7)]
    [InlineData(1, 100, 99, 1)]
    [InlineData(1, 100, 100_001, 1_001)]
    [InlineData(1, 100, 10_000_000_000, 100_000_000)]
    public void Total_pages_round_up(int page, int perPage, long total, long pages)
    {
        var meta = PageMeta.Of(page, perPage, total);

        Assert.Equal(new PageMeta(page, perPage, total, pages), meta);
    }
}
