# appforge: the one binary, on a Node image (builds run npm and vite).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/appforge ./cmd/appforge

FROM node:20-bookworm-slim
RUN useradd --create-home appforge
COPY --from=build /out/appforge /usr/local/bin/appforge
USER appforge
WORKDIR /home/appforge
ENV APPFORGE_DATA_DIR=/home/appforge/data
ENTRYPOINT ["appforge"]
