using ApiPlatform.Grains;

namespace ApiPlatform.UnitTests;

public sealed class IdsTests
{
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    [Theory]
    [InlineData(Ids.User)]
    [InlineData(Ids.ApiKey)]
    [InlineData(Ids.Session)]
    [InlineData(Ids.Webhook)]
    [InlineData(Ids.Delivery)]
    public void New_is_the_prefix_and_22_base62_characters(string prefix)
    {
        var id = Ids.New(prefix);

        Assert.StartsWith(prefix + "_", id);
        var suffix = id[(prefix.Length + 1)..];
        Assert.Equal(22, suffix.Length);
        Assert.All(suffix, c => Assert.Contains(c, Base62));
        Assert.True(Ids.IsValid(id, prefix));
    }

    [Fact]
    public void New_ids_are_distinct()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => Ids.New(Ids.User)).ToHashSet();

        Assert.Equal(10_000, ids.Count);
    }

    [Fact]
    public void Random_tokens_have_the_asked_length_and_alphabet()
    {
        var token = Ids.RandomToken(40);

        Assert.Equal(40, token.Length);
        Assert.All(token, c => Assert.Contains(c, Base62));
        Assert.Equal("", Ids.RandomToken(0));
    }

    public static TheoryData<string, string> InvalidIds => new()
    {
        { "", Ids.User },
        { "usr_", Ids.User },
        { "key_0123456789ABCDEFGHIJkl", Ids.User },      // another type's prefix
        { "usr-0123456789ABCDEFGHIJkl", Ids.User },      // wrong separator
        { "usr0123456789ABCDEFGHIJklm", Ids.User },      // no separator
        { "usr_0123456789ABCDEFGHIJk", Ids.User },       // 21 characters
        { "usr_0123456789ABCDEFGHIJklm", Ids.User },     // 23 characters
        { "usr_0123456789ABCDEFGHIJ-l", Ids.User },      // not base62
        { "usr_0123456789ABCDEFGHIJ_l", Ids.User },
        { "usr_0123456789ABCDEFGH/../", Ids.User },
        { "usr_0123456789ABCDEFGHIJ l", Ids.User },
        { "usr_0123456789ABCDEFGHIJé1", Ids.User },
        { "USR_0123456789ABCDEFGHIJkl", Ids.User },      // prefixes are case-sensitive
        { "wh_0123456789ABCDEFGHIJklm", Ids.Delivery },  // "whd" is not "wh"
        { "whd_0123456789ABCDEFGHIJkl", Ids.Webhook },
    };

    [Theory]
    [MemberData(nameof(InvalidIds))]
    public void IsValid_rejects_malformed_ids(string id, string prefix)
    {
        Assert.False(Ids.IsValid(id, prefix));
    }

    [Fact]
    public void IsValid_rejects_null()
    {
        Assert.False(Ids.IsValid(null, Ids.User));
    }

    [Theory]
    [InlineData("usr_0123456789ABCDEFGHIJkl", Ids.User)]
    [InlineData("wh_zzzzzzzzzzzzzzzzzzzzzz", Ids.Webhook)]
    [InlineData("whd_0000000000000000000000", Ids.Delivery)]
    public void IsValid_accepts_well_formed_ids(string id, string prefix)
    {
        Assert.True(Ids.IsValid(id, prefix));
    }

    [Theory]
    [InlineData("usr_0123456789ABCDEFGHIJkl", "0123456789ABCDEFGHIJkl")]
    [InlineData("whd_abc", "abc")]
    [InlineData("noprefix", "noprefix")]
    public void Suffix_is_the_part_after_the_first_underscore(string id, string suffix)
    {
        Assert.Equal(suffix, Ids.Suffix(id));
    }

    [Fact]
    public void Suffix_of_a_new_id_rebuilds_it()
    {
        var id = Ids.New(Ids.ApiKey);

        Assert.Equal(id, Ids.ApiKey + "_" + Ids.Suffix(id));
    }
}
