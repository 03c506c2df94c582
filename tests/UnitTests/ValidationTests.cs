using ApiPlatform.Gateway.Identity;

namespace ApiPlatform.UnitTests;

public sealed class ValidationTests
{
    [Theory]
    [InlineData("ann@example.com")]
    [InlineData("a@b.c")]
    [InlineData("first.last+tag@sub.example.co.uk")]
    [InlineData("ANN@EXAMPLE.COM")]
    [InlineData("o'brien@example.ie")]
    public void Email_addresses_are_accepted(string value)
    {
        Assert.True(Validation.IsEmail(value));
    }

    public static TheoryData<string> NotEmails => new()
    {
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@example",
        "ann@@example.com",
        "ann@exa@mple.com",
        "ann @example.com",
        "ann@exa mple.com",
        " ann@example.com",
        "ann@example.com ",
        "ann@example.com\nbob@example.com",
        "ann\t@example.com",
        "ann@example.",
        new string('a', 243) + "@example.com",   // 255 characters
    };

    [Theory]
    [MemberData(nameof(NotEmails))]
    public void Non_email_addresses_are_refused(string value)
    {
        Assert.False(Validation.IsEmail(value));
    }

    [Fact]
    public void Email_with_a_trailing_newline_is_refused()
    {
        // '$' in the pattern also matches before a final '\n'; only '\z' ends the input.
        Assert.False(Validation.IsEmail("ann@example.com\n"));
    }

    [Fact]
    public void Email_of_254_characters_is_accepted()
    {
        Assert.True(Validation.IsEmail(new string('a', 242) + "@example.com"));
    }

    [Theory]
    [InlineData("ann")]
    [InlineData("a1b")]
    [InlineData("ann.lee")]
    [InlineData("ann_lee-2")]
    [InlineData("A.-_Z")]
    [InlineData("000")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")] // 32 characters
    public void Usernames_are_accepted(string value)
    {
        Assert.True(Validation.IsUsername(value));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("ab")]                                  // too short
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]   // 33 characters
    [InlineData("_ann")]
    [InlineData("ann_")]
    [InlineData(".ann")]
    [InlineData("ann-")]
    [InlineData("ann lee")]
    [InlineData(" ann")]
    [InlineData("ann ")]
    [InlineData("ann\nbob")]
    [InlineData("ann@lee")]
    [InlineData("ann/../lee")]
    [InlineData("änn")]
    [InlineData("ann\u212A")]                           // Kelvin sign, not a K
    public void Non_usernames_are_refused(string value)
    {
        Assert.False(Validation.IsUsername(value));
    }

    [Fact]
    public void Username_with_a_trailing_newline_is_refused()
    {
        // '$' in the pattern also matches before a final '\n'; only '\z' ends the input.
        Assert.False(Validation.IsUsername("ann\n"));
        Assert.False(Validation.IsUsername("admin\n"));
    }
}
