using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>
/// The one way settings are registered: an <c>XxxOptions</c> class bound to its <c>Section</c>, checked by the
/// <c>IValidateOptions</c> validator in the same file, at start-up, so a bad setting stops the process before it
/// serves anything instead of failing the first request that reads it.
/// </summary>
public static class OptionsRegistration
{
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(
        this IServiceCollection services, IConfiguration configuration, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
    }

    /// <summary>
    /// Settings the host needs before its services exist (cluster identity, storage): bound and checked at once, so
    /// they fail the start the same way as the others.
    /// </summary>
    public static TOptions ReadValidated<TOptions, TValidator>(this IConfiguration configuration, string section)
        where TOptions : class, new()
        where TValidator : IValidateOptions<TOptions>, new()
    {
        var options = configuration.GetSection(section).Get<TOptions>() ?? new TOptions();
        var result = new TValidator().Validate(Options.DefaultName, options);
        return result.Failed ? throw new OptionsValidationException(Options.DefaultName, typeof(TOptions), result.Failures) : options;
    }
}
