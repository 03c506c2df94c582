using System.Globalization;
using ApiPlatform.Gateway.Errors;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>List paging settings (configuration section <c>Paging</c>).</summary>
public sealed class PagingOptions
{
    public const string Section = "Paging";

    /// <summary><c>per_page</c> when a list request gives none (the XPKit document uses 50).</summary>
    public int DefaultPerPage { get; set; } = Paging.DefaultPerPage;
}

/// <summary>Checks <see cref="PagingOptions"/> at start-up.</summary>
public sealed class PagingOptionsValidator : IValidateOptions<PagingOptions>
{
    public ValidateOptionsResult Validate(string? name, PagingOptions options) =>
        options.DefaultPerPage is >= 1 and <= Paging.MaxPerPage
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Paging:DefaultPerPage must be from 1 to {Paging.MaxPerPage}.");
}

/// <summary>The <c>page</c> / <c>per_page</c> query parameters, validated.</summary>
public readonly record struct Paging(int Page, int PerPage)
{
    /// <summary>The contract's default, unless <see cref="PagingOptions.DefaultPerPage"/> says otherwise.</summary>
    public const int DefaultPerPage = 20;
    public const int MaxPerPage = 100;
    // Beyond this, offset paging is pointless and the offset arithmetic could overflow.
    public const int MaxPage = 1_000_000;

    public int Offset => (Page - 1) * PerPage;

    public static Paging From(HttpRequest request)
    {
        var page = Parse(request, "page", 1, 1, MaxPage);
        var fallback = request.HttpContext.RequestServices?.GetService<IOptions<PagingOptions>>()?.Value.DefaultPerPage ?? DefaultPerPage;
        var perPage = Parse(request, "per_page", fallback, 1, MaxPerPage);
        return new Paging(page, perPage);
    }

    private static int Parse(HttpRequest request, string name, int fallback, int min, int max)
    {
        var values = request.Query[name];
        if (values.Count == 0)
        {
            return fallback;
        }

        if (values.Count > 1)
        {
            throw ApiException.Invalid(name, "must be given once");
        }

        if (!int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw ApiException.Invalid(name, $"must be an integer from {min} to {max}");
        }

        return value;
    }
}
