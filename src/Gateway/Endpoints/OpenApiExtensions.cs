using ApiPlatform.Gateway.Errors;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>Declares an endpoint's problem responses in the OpenAPI document; every endpoint can also answer 429 and 500.</summary>
public static class OpenApiExtensions
{
    public static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses.Append(StatusCodes.Status429TooManyRequests).Append(StatusCodes.Status500InternalServerError).Distinct())
        {
            builder.Produces<Problem>(status, "application/problem+json");
        }

        return builder;
    }
}
